use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "__x")]
    Organization,
}

fn main() {}
