// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. A chain built from scope values (`Dynamic`) continues with scope values only.
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
    let ws = store.scope(Tenant::Organization, "a")?.scope(tenant::Workspace, 1)?;
    assert_eq!(ws.kv().key("x")?, "igniter:store:api:organization:a:ws:1:kv:x");
    let typed = store.scope(tenant::Organization, "a")?.scope(tenant::Workspace, 1)?;
    assert_eq!(ws.kv().key("x")?, typed.kv().key("x")?);
    Ok(())
}
