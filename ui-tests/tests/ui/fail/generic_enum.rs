use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant<T> {
    Organization,
    Other(T),
}

fn main() {}
