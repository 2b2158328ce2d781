use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "igniter")]
    Organization,
}

fn main() {}
