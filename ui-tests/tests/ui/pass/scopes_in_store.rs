use igniter_store::{MemoryAdapter, Store, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    Workspace,
}

fn main() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let org = store.scope(Tenant::Organization, 42).unwrap();
    let _ = org.scope(Tenant::Workspace, "ws_1").unwrap();
}
