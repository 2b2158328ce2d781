use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {}

fn main() {}
