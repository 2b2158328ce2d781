use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = org)]
    Organization,
    #[scope(required = true)]
    Team,
}

fn main() {}
