use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    Organization(String),
    Team { id: u64 },
}

fn main() {}
