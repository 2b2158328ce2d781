// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. A typed chain skips no required scope: `Workspace` needs `Organization` before it.
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
    let ws = store.scope(tenant::Organization, "a")?.scope(tenant::Workspace, 7)?;
    assert_eq!(ws.kv().key("x")?, "igniter:store:api:organization:a:ws:7:kv:x");
    let dynamic = store.scope(Tenant::Organization, "a")?.scope(Tenant::Workspace, 7)?;
    assert_eq!(ws.kv().key("x")?, dynamic.kv().key("x")?);
    Ok(())
}
