// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. A handle past the first required scope still lacks the second (`Project`).
use igniter_store::{MemoryAdapter, Store, StoreError, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    Workspace,
    #[scope(required)]
    Project,
    Team,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Tenant>()
        .build()?;
    let handle = store
        .scope(tenant::Organization, "a")?
        .scope(tenant::Workspace, 2)?;
    let key = handle.kv().key("x")?;
    assert_eq!(key, "igniter:store:api:organization:a:workspace:2:project:3:kv:x");
    Ok(())
}
