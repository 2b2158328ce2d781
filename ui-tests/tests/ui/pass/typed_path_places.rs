// The typed path of `#[derive(StoreScopes)]` wherever the enum is declared:
// public in a module, private at the root, inside `fn main`, and named so
// that its snake case is a keyword. Keys of typed chains are the keys of the
// same chains built from scope values.
use igniter_store::scope::Dynamic;
use igniter_store::{MemoryAdapter, Store, StoreError, StoreScopes};

pub mod tenancy {
    use igniter_store::StoreScopes;

    /// A public set in a module: its markers, in `tenancy::tenant`, are
    /// public too.
    #[derive(StoreScopes, Clone, Copy, Debug)]
    pub enum Tenant {
        #[scope(required)]
        Organization,
        #[scope(key = "ws")]
        Workspace,
    }
}

// A private set with no required scope: its root has data operations, and
// any scope may come first.
#[derive(StoreScopes, Clone, Copy, Debug)]
enum Region {
    Continent,
    Country,
}

// `type` is a keyword: the markers are in `type_scopes`.
#[derive(StoreScopes, Clone, Copy, Debug)]
enum Type {
    Kind,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    // Public, in a module.
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<tenancy::Tenant>()
        .build()?;
    let org = store.scope(tenancy::tenant::Organization, "a")?;
    let ws: Store<tenancy::tenant::Workspace> = org.scope(tenancy::tenant::Workspace, 2)?;
    assert_eq!(ws.kv().key("x")?, "igniter:store:api:organization:a:ws:2:kv:x");
    let dynamic = store
        .scope(tenancy::Tenant::Organization, "a")?
        .scope(tenancy::Tenant::Workspace, 2)?;
    assert_eq!(ws.kv().key("x")?, dynamic.kv().key("x")?);
    ws.kv().set("x", &7).await?;
    assert_eq!(dynamic.kv().get::<i32>("x").await?, Some(7));

    // `into_dynamic` forgets the position, not the chain: handles of every
    // depth in one place, continued with scope values.
    let handles: Vec<Store<Dynamic<tenancy::Tenant>>> = vec![
        store.clone().into_dynamic(),
        org.clone().into_dynamic(),
        ws.clone().into_dynamic(),
    ];
    assert_eq!(handles[2].kv().key("x")?, ws.kv().key("x")?);
    assert_eq!(handles[2].scope_keys(), ["organization", "ws"]);
    let again = handles[1].scope(tenancy::Tenant::Workspace, 2)?;
    assert_eq!(again.kv().key("x")?, ws.kv().key("x")?);
    // A dynamic root lacking the required scope compiles, and fails at run time.
    let err = handles[0].kv().key("x").unwrap_err();
    assert_eq!(err.code().as_str(), "STORE_SCOPE_REQUIRED");
    let err = handles[2].scope(tenancy::Tenant::Organization, "b").unwrap_err();
    assert_eq!(err.code().as_str(), "STORE_SCOPE_ORDER");

    // Private, every scope optional.
    let regions = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Region>()
        .build()?;
    assert_eq!(regions.kv().key("x")?, "igniter:store:api:kv:x");
    let country = regions.scope(region::Country, "fr")?;
    assert_eq!(country.kv().key("x")?, "igniter:store:api:country:fr:kv:x");
    let both = regions
        .scope(region::Continent, "eu")?
        .scope(region::Country, "fr")?;
    assert_eq!(
        both.kv().key("x")?,
        "igniter:store:api:continent:eu:country:fr:kv:x"
    );
    assert_eq!(
        both.kv().key("x")?,
        regions
            .scope(Region::Continent, "eu")?
            .scope(Region::Country, "fr")?
            .kv()
            .key("x")?
    );
    both.kv().set("x", &1).await?;
    regions.kv().set("x", &1).await?;
    // The root of a set with no required scope has `purge`: every key of
    // the service.
    assert_eq!(regions.purge().await?, 2);

    // A keyword in snake case.
    let types = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Type>()
        .build()?;
    let kind = types.scope(type_scopes::Kind, "k")?;
    assert_eq!(kind.kv().key("x")?, "igniter:store:api:kind:k:kv:x");

    // Declared inside a function.
    #[derive(StoreScopes, Clone, Copy, Debug)]
    enum Local {
        #[scope(required)]
        Shard,
        Slot,
    }
    let locals = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .scopes::<Local>()
        .build()?;
    let slot = locals.scope(local::Shard, 1)?.scope(local::Slot, 2)?;
    assert_eq!(slot.kv().key("x")?, "igniter:store:api:shard:1:slot:2:kv:x");
    assert_eq!(
        slot.kv().key("x")?,
        locals
            .scope(Local::Shard, 1)?
            .scope(Local::Slot, 2)?
            .kv()
            .key("x")?
    );
    Ok(())
}
