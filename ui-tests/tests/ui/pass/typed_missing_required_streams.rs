// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. A root whose set requires `Organization` has no data operations; the twin in pass/ adds the scope first.
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
    let dynamic = store.scope(Tenant::Organization, "acme")?;
    let key = store.scope(tenant::Organization, "acme")?.streams().key("jobs")?;
    assert_eq!(key, "igniter:store:api:organization:acme:streams:jobs");
    assert_eq!(key, dynamic.streams().key("jobs")?);
    Ok(())
}
