use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "org*")]
    Organization,
    #[scope(key = "[team]")]
    Team,
}

fn main() {}
