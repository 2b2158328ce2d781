// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. Each typed marker at most once in a chain.
use igniter_store::{MemoryAdapter, Store, StoreError, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Tenant>()
        .build()?;
    let org = store.scope(tenant::Organization, "a")?;
    assert_eq!(org.kv().key("x")?, "igniter:store:api:organization:a:kv:x");
    assert_eq!(org.kv().key("x")?, store.scope(Tenant::Organization, "a")?.kv().key("x")?);
    Ok(())
}
