// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. A typed marker of another scope set belongs to another store.
use igniter_store::{MemoryAdapter, Store, StoreError, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Other {
    Region,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Tenant>()
        .build()?;
    let regions = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Other>()
        .build()?;
    let eu = regions.scope(other::Region, "eu")?;
    assert_eq!(eu.kv().key("x")?, "igniter:store:api:region:eu:kv:x");
    let handle = store.scope(tenant::Organization, "eu")?;
    assert_eq!(handle.kv().key("x")?, "igniter:store:api:organization:eu:kv:x");
    Ok(())
}
