use igniter_store::StoreScopes;

#[derive(StoreScopes)]
#[scope(required)]
enum Tenant {
    Organization,
}

fn main() {}
