use igniter_store::StoreScopes;

#[derive(StoreScopes)]
struct Tenant {
    organization: String,
}

fn main() {}
