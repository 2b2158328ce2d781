use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "kv")]
    Organization,
    // The derived key "kv" is refused too.
    Kv,
}

fn main() {}
