//! [`Store`]: a handle on one scope chain of one service.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::actor::{NoActors, StoreActors};
use crate::adapter::{Backend, DynStoreAdapter, StoreAdapter};
use crate::builder::{Missing, StoreBuilder};
use crate::engine::{ActorLink, Core, Shared};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::{EventRegistry, Events};
use crate::key::Namespace;
use crate::scope::{Chain, NoScopes, StoreScopes};
use crate::serializer::{JsonSerializer, Serializer};
use crate::streams::Streams;
use crate::{batch::Batch, claim::Claims, counter::Counter, dev::Dev, kv::Kv};

/// A handle on one service's data, at one point of its scope chain.
///
/// `S` is the store's scope set ([`StoreScopes`]), `A` its actor set and `Z`
/// its [`Serializer`]. Handles are cheap to clone (two `Arc`s) and every
/// clone shares the adapter. [`Store::scope`] returns a new handle one level
/// deeper; the parent is unaffected.
///
/// ```
/// use igniter_store::{MemoryAdapter, Store, StoreScopes};
///
/// #[derive(StoreScopes, Clone, Copy, Debug)]
/// enum Tenant {
///     #[scope(required)]
///     Organization,
///     Workspace,
/// }
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder()
///     .adapter(MemoryAdapter::new())
///     .service("api")
///     .scopes::<Tenant>()
///     .build()?;
/// let org = store.scope(Tenant::Organization, "org_1")?;
/// org.kv().set("plan", &"pro").await?;
/// assert_eq!(org.kv().key("plan")?, "igniter:store:api:organization:org_1:kv:plan");
///
/// // the root lacks the required organization scope
/// let err = store.kv().get::<String>("plan").await.unwrap_err();
/// assert_eq!(err.code().as_str(), "STORE_SCOPE_REQUIRED");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
pub struct Store<S = NoScopes, A = NoActors, Z = JsonSerializer> {
    pub(crate) core: Core<Z>,
    _marker: PhantomData<fn() -> (S, A)>,
}

impl<S, A, Z> Clone for Store<S, A, Z> {
    fn clone(&self) -> Self {
        Store {
            core: self.core.clone(),
            _marker: PhantomData,
        }
    }
}

impl<S, A, Z> fmt::Debug for Store<S, A, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("service", &self.core.shared.service)
            .field("adapter", &self.core.shared.backend.adapter().name())
            .field("scope_depth", &self.core.chain.depth())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a builder. An adapter and a service are required; `build` exists
    /// only once both are given, so forgetting one is a compile error.
    pub fn builder() -> StoreBuilder<Missing, Missing> {
        StoreBuilder::new()
    }
}

impl<S: StoreScopes, A: StoreActors, Z: Serializer> Store<S, A, Z> {
    pub(crate) fn from_parts(shared: Shared<Z>, chain: Chain) -> Self {
        Store {
            core: Core {
                shared: Arc::new(shared),
                chain: Arc::new(chain),
                actor: None,
            },
            _marker: PhantomData,
        }
    }

    /// A handle one scope deeper: keys of the new handle follow
    /// `...:<scope key>:<identifier>`, in the order of `scope` calls.
    /// `identifier` is anything `Display` (strings, integers); it is
    /// percent-escaped in keys, so no identifier reaches another tenant.
    ///
    /// Fails with `STORE_SCOPE_IDENTIFIER_REQUIRED` for an empty identifier.
    pub fn scope(&self, scope: S, identifier: impl fmt::Display) -> StoreResult<Self> {
        let index = scope.index();
        let id = identifier.to_string();
        let hash_tag = self.core.shared.scope_hash_tag;
        let chain = self
            .core
            .chain
            .child(&S::SCOPES[index], index, &id, hash_tag)?;
        Ok(Store {
            core: Core {
                shared: Arc::clone(&self.core.shared),
                chain: Arc::new(chain),
                actor: self.core.actor.clone(),
            },
            _marker: PhantomData,
        })
    }

    /// A handle that acts as `actor`: events it publishes carry
    /// `"actor": {"key": .., "identifier": ..}`. Actors never change keys or
    /// channels. Fails with `STORE_ACTOR_IDENTIFIER_REQUIRED` for an empty
    /// identifier.
    pub fn actor(&self, actor: A, identifier: impl fmt::Display) -> StoreResult<Self> {
        let id = identifier.to_string();
        if id.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ActorIdentifierRequired,
                "an actor identifier must not be empty",
            )
            .with_detail("actorKey", actor.def().key()));
        }
        let mut core = self.core.clone();
        core.actor = Some(Arc::new(ActorLink {
            key: actor.def().key(),
            id: id.into_boxed_str(),
        }));
        Ok(Store {
            core,
            _marker: PhantomData,
        })
    }

    /// Redis Streams in this scope, with consumer groups.
    pub fn streams(&self) -> Streams<'_, Z> {
        Streams::new(&self.core)
    }

    /// Typed pub/sub on this scope's channels.
    pub fn events(&self) -> Events<'_, Z> {
        Events::new(&self.core)
    }

    /// The event namespaces registered with the builder.
    pub fn event_registries(&self) -> &[EventRegistry] {
        &self.core.shared.registries
    }

    /// Key-value entries with TTLs.
    pub fn kv(&self) -> Kv<'_, Z> {
        Kv::new(&self.core)
    }

    /// Atomic counters.
    pub fn counter(&self) -> Counter<'_, Z> {
        Counter::new(&self.core)
    }

    /// Claims: distributed locks with owners and fencing tokens.
    pub fn claim(&self) -> Claims<'_, Z> {
        Claims::new(&self.core)
    }

    /// Many kv entries in one round trip.
    pub fn batch(&self) -> Batch<'_, Z> {
        Batch::new(&self.core)
    }

    /// Key scanning.
    pub fn dev(&self) -> Dev<'_, Z> {
        Dev::new(&self.core)
    }

    /// Deletes every key of this handle's scope and of the scopes under it, in
    /// every namespace, and returns how many were deleted: a tenant's
    /// offboarding. On the root handle it deletes every key of the service.
    ///
    /// Runs SCAN and UNLINK page by page: keys written while it runs may
    /// survive it.
    pub async fn purge(&self) -> StoreResult<u64> {
        crate::dev::purge(&self.core).await
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.core.shared.service
    }

    /// The adapter, to run what the store does not wrap. See also
    /// [`Store::adapter_as`] and the `key` methods of each namespace
    /// (for example [`Kv::key`]).
    /// Its futures are boxed: the store's own operations call a built-in
    /// adapter without them.
    pub fn adapter(&self) -> &dyn DynStoreAdapter {
        self.core.shared.backend.adapter()
    }

    /// The adapter as the store calls it; cheap to clone, to hand the
    /// adapter to code that outlives this handle.
    pub fn backend(&self) -> &Backend {
        &self.core.shared.backend
    }

    /// The adapter as its concrete type, e.g. `store.adapter_as::<MemoryAdapter>()`.
    pub fn adapter_as<T: StoreAdapter>(&self) -> Option<&T> {
        self.core.shared.backend.adapter_as()
    }

    /// The full key the store uses for `key` in namespace `ns`, so a command
    /// the store does not wrap can run on exactly the right key.
    ///
    /// Fails like the operations do: for a missing required scope or an
    /// empty key.
    pub fn full_key(&self, ns: Namespace, key: &str) -> StoreResult<String> {
        self.core.key(ns, key)
    }

    /// The scope keys of this handle's chain, outermost first (identifiers
    /// are not exposed here: they are tenant data).
    pub fn scope_keys(&self) -> Vec<&'static str> {
        self.core.chain.links.iter().map(|l| l.key).collect()
    }

    /// Closes the adapter for every handle of this store.
    pub async fn close(&self) -> StoreResult<()> {
        let core = &self.core;
        crate::engine::call!(core, close())
    }
}
