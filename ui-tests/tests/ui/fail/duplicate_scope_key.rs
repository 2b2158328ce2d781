use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "org")]
    Organization,
    #[scope(key = "org")]
    Org,
}

// Only the derive's own errors: the type still implements the trait, so uses
// of it add no "trait not implemented" errors.
fn main() {
    let _ = <Tenant as StoreScopes>::SCOPES;
}
