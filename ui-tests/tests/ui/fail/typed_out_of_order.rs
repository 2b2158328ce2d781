// The fail case and its pass twin (same file name in fail/ and pass/) differ
// only in the mistake. Typed markers only in declaration order: `Team` cannot come before `Workspace`.
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
    let team = store
        .scope(tenant::Organization, "a")?
        .scope(tenant::Team, 1)?
        .scope(tenant::Workspace, 2)?;
    let dynamic = store
        .scope(Tenant::Organization, "a")?
        .scope(Tenant::Workspace, 2)?
        .scope(Tenant::Team, 1)?;
    assert_eq!(team.kv().key("x")?, "igniter:store:api:organization:a:ws:2:team:1:kv:x");
    assert_eq!(team.kv().key("x")?, dynamic.kv().key("x")?);
    Ok(())
}
