//! [`Store`]: a handle on one scope chain of one service.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::actor::{NoActors, StoreActors};
use crate::adapter::{Backend, DynStoreAdapter, StoreAdapter};
use crate::builder::{NoAdapter, NoService, StoreBuilder};
use crate::engine::{ActorLink, Core, Shared, StoreFuture};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::{EventRegistry, Events};
use crate::key::Namespace;
use crate::scope::{Chain, Dynamic, NextScope, NoScopes, NoneMissing, ScopePosition, StoreScopes};
use crate::serializer::{JsonSerializer, Serializer};
use crate::streams::Streams;
use crate::{batch::Batch, claim::Claims, counter::Counter, dev::Dev, kv::Kv};

/// A handle on one service's data, at one point of its scope chain.
///
/// `S` is where the handle stands in its scope set ([`ScopePosition`]): the
/// `#[derive(StoreScopes)]` enum itself at the root, a typed scope marker
/// such as `tenant::Workspace` once the chain ends with that scope, or
/// [`Dynamic`] for chains built from values known only at run time. `A` is
/// the actor set and `Z` the [`Serializer`]. Handles are cheap to clone (two
/// `Arc`s) and every clone shares the adapter. [`Store::scope`] returns a new
/// handle one level deeper; the parent is unaffected.
///
/// The declared order of the scope enum is the tenant hierarchy, and the
/// compiler checks it on the typed path: scopes come in declaration order,
/// each at most once, no required scope is skipped, and a handle that lacks
/// a required scope has no data operations.
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
/// // `tenant::Organization` is written by the derive: the typed path.
/// let org = store.scope(tenant::Organization, "org_1")?;
/// org.kv().set("plan", &"pro").await?;
/// assert_eq!(org.kv().key("plan")?, "igniter:store:api:organization:org_1:kv:plan");
/// let ws = org.scope(tenant::Workspace, 7)?;
/// assert_eq!(ws.kv().key("x")?, "igniter:store:api:organization:org_1:workspace:7:kv:x");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
///
/// What needs no tenant is on every handle, a root lacking a required scope
/// included: [`scope`](Store::scope), [`actor`](Store::actor),
/// [`service`](Store::service), [`adapter`](Store::adapter),
/// [`backend`](Store::backend), [`event_registries`](Store::event_registries),
/// [`scope_keys`](Store::scope_keys), [`close`](Store::close). The data
/// operations ([`kv`](Store::kv), [`counter`](Store::counter),
/// [`claim`](Store::claim), [`batch`](Store::batch), [`dev`](Store::dev),
/// [`events`](Store::events), [`streams`](Store::streams),
/// [`purge`](Store::purge), [`full_key`](Store::full_key)) exist only where
/// no required scope is missing: a root whose scope set requires none has
/// them (its `purge` deletes the whole service).
///
/// The root lacks the required organization, so it has no `kv()`:
///
/// ```compile_fail
/// # use igniter_store::{MemoryAdapter, Store, StoreScopes};
/// # #[derive(StoreScopes, Clone, Copy, Debug)]
/// # enum Tenant { #[scope(required)] Organization, Workspace }
/// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build().unwrap();
/// store.kv(); // error: this handle lacks the required scope `Organization`
/// ```
///
/// Scopes known only at run time are scope values (`Tenant::Workspace`); the
/// handle is then [`Dynamic`], its order is checked when each scope is added
/// (`STORE_SCOPE_ORDER`, `STORE_SCOPE_REQUIRED`) and its required scopes by
/// each operation (`STORE_SCOPE_REQUIRED`), before any I/O:
///
/// ```
/// # use igniter_store::{MemoryAdapter, Store, StoreScopes};
/// # #[derive(StoreScopes, Clone, Copy, Debug)]
/// # enum Tenant { #[scope(required)] Organization, Workspace }
/// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build().unwrap();
/// let ws = store.scope(Tenant::Organization, "org_1")?.scope(Tenant::Workspace, 7)?;
/// let err = ws.scope(Tenant::Organization, "org_2").unwrap_err();
/// assert_eq!(err.code().as_str(), "STORE_SCOPE_ORDER");
/// # Ok::<(), igniter_store::StoreError>(())
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
    pub fn builder() -> StoreBuilder<NoAdapter, NoService> {
        StoreBuilder::new()
    }
}

impl<S: ScopePosition, A: StoreActors, Z: Serializer> Store<S, A, Z> {
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
    /// `...:<scope key>:<identifier>`. `identifier` is anything `Display`
    /// (strings, integers); it is percent-escaped in keys, so no identifier
    /// reaches another tenant.
    ///
    /// `scope` is either a typed marker the derive writes (`tenant::Workspace`),
    /// which compiles only in declaration order, once, with no required scope
    /// skipped, and gives a handle whose position the compiler knows; or a
    /// scope value (`Tenant::Workspace`) for scopes known only at run time,
    /// which gives a [`Dynamic`] handle.
    ///
    /// Fails, before any I/O, with `STORE_SCOPE_IDENTIFIER_REQUIRED` for an
    /// empty identifier, and for a scope value with `STORE_SCOPE_ORDER` when
    /// it does not come after the chain's last scope in declaration order and
    /// `STORE_SCOPE_REQUIRED` when it would skip a required scope (its message
    /// names it). The order and required checks come before the identifier's.
    pub fn scope<T: NextScope<S>>(
        &self,
        scope: T,
        identifier: impl fmt::Display,
    ) -> StoreResult<Store<T::Next, A, Z>> {
        let index = scope.scope_index();
        let id = identifier.to_string();
        let shared = &self.core.shared;
        let chain = self.core.chain.child(
            <S::Scopes as StoreScopes>::SCOPES,
            shared.required,
            index,
            &id,
            shared.scope_hash_tag,
        )?;
        Ok(Store {
            core: Core {
                shared: Arc::clone(&self.core.shared),
                chain: Arc::new(chain),
                actor: self.core.actor.clone(),
            },
            _marker: PhantomData,
        })
    }

    /// The same handle with its position forgotten: a [`Dynamic`] handle, to
    /// keep handles of different depths in one place (a map, a field).
    pub fn into_dynamic(self) -> Store<Dynamic<S::Scopes>, A, Z> {
        Store {
            core: self.core,
            _marker: PhantomData,
        }
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
    pub fn streams(&self) -> Streams<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Streams::new(&self.core)
    }

    /// Typed pub/sub on this scope's channels.
    pub fn events(&self) -> Events<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Events::new(&self.core)
    }

    /// The event namespaces registered with the builder.
    pub fn event_registries(&self) -> &[EventRegistry] {
        &self.core.shared.registries
    }

    /// Key-value entries with TTLs.
    pub fn kv(&self) -> Kv<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Kv::new(&self.core)
    }

    /// Atomic counters.
    pub fn counter(&self) -> Counter<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Counter::new(&self.core)
    }

    /// Claims: distributed locks with owners and fencing tokens.
    pub fn claim(&self) -> Claims<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Claims::new(&self.core)
    }

    /// Many kv entries in one round trip.
    pub fn batch(&self) -> Batch<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Batch::new(&self.core)
    }

    /// Key scanning.
    pub fn dev(&self) -> Dev<'_, Z>
    where
        S::Missing: NoneMissing,
    {
        Dev::new(&self.core)
    }

    /// Deletes every key of this handle's scope and of the scopes under it, in
    /// every namespace, and returns how many were deleted: a tenant's
    /// offboarding. On the root handle it deletes every key of the service:
    /// it exists there only when no scope is required (a root that lacks a
    /// required scope has no data operations).
    ///
    /// Runs SCAN and UNLINK page by page: keys written while it runs may
    /// survive it.
    // A boxed future, neither an `async fn` nor `impl Future`: with either,
    // the bound is reported three times (the call, the future, the `.await`)
    // on a handle lacking a required scope. Purge is rare; the box is free.
    pub fn purge(&self) -> StoreFuture<'_, u64>
    where
        S::Missing: NoneMissing,
    {
        Box::pin(crate::dev::purge(&self.core))
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
    pub fn full_key(&self, ns: Namespace, key: &str) -> StoreResult<String>
    where
        S::Missing: NoneMissing,
    {
        self.core.key(ns, key)
    }

    /// The scope keys of this handle's chain, outermost first (identifiers
    /// are not exposed here: they are tenant data).
    pub fn scope_keys(&self) -> Vec<&'static str> {
        self.core.chain.links.iter().map(|l| l.key).collect()
    }

    /// Closes the adapter for every handle of this store. Available on every
    /// handle, the root included.
    pub async fn close(&self) -> StoreResult<()> {
        let core = &self.core;
        crate::engine::call!(core, close())
    }
}
