use igniter_store::{MemoryAdapter, Store, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    Organization,
}

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Other {
    Team,
}

fn main() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let _ = store.scope(Other::Team, "t1");
}
