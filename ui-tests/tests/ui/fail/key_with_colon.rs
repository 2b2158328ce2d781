use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "org:unit")]
    Organization,
}

fn main() {}
