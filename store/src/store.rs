//! [`Store`]: a handle on one scope chain of one service.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Sleep;

use crate::actor::{NoActors, StoreActors};
use crate::adapter::StoreAdapter;
use crate::backend::Backend;
use crate::builder::{Missing, StoreBuilder};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::{EventRegistry, Events};
use crate::key::Namespace;
use crate::scope::{Chain, NoScopes, ScopeDef, StoreScopes};
use crate::serializer::{JsonSerializer, Serializer};
use crate::streams::Streams;
use crate::telemetry::Ctx;
use crate::{Batch, Claims, Counter, Dev, Kv};

/// What every handle of one store shares.
pub(crate) struct Shared<Z> {
    /// The adapter, and how the store calls it.
    pub(crate) backend: Backend,
    pub(crate) service: Box<str>,
    pub(crate) serializer: Z,
    pub(crate) timeout: Option<Duration>,
    pub(crate) scopes: &'static [ScopeDef],
    /// Bit `i` set when scope `i` is required.
    pub(crate) required: u64,
    /// The event namespaces given to the builder.
    pub(crate) registries: Vec<EventRegistry>,
    /// Whether the outermost scope is a Redis Cluster hash tag.
    pub(crate) scope_hash_tag: bool,
    /// The longest encoded value the store writes.
    pub(crate) max_value_size: Option<usize>,
}

/// The untyped core of a handle: the shared store and one scope chain. The
/// namespace handles (`kv()`, ...) work on it.
pub(crate) struct Core<Z> {
    pub(crate) shared: Arc<Shared<Z>>,
    pub(crate) chain: Arc<Chain>,
    /// Who acts through this handle; carried in published envelopes.
    pub(crate) actor: Option<Arc<ActorLink>>,
}

/// The actor of a handle: its key and identifier as given.
pub(crate) struct ActorLink {
    pub(crate) key: &'static str,
    pub(crate) id: Box<str>,
}

impl<Z> Clone for Core<Z> {
    fn clone(&self) -> Self {
        Core {
            shared: Arc::clone(&self.shared),
            chain: Arc::clone(&self.chain),
            actor: self.actor.clone(),
        }
    }
}

impl<Z> fmt::Debug for Core<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("scope_depth", &self.chain.depth())
            .finish_non_exhaustive()
    }
}

impl<Z: Serializer> Core<Z> {
    pub(crate) fn adapter(&self) -> &dyn StoreAdapter {
        self.shared.backend.adapter()
    }

    pub(crate) fn serializer(&self) -> &Z {
        &self.shared.serializer
    }

    pub(crate) fn telemetry(&self) -> Ctx<'_> {
        Ctx {
            service: &self.shared.service,
            scope_key: self.chain.innermost_key(),
            scope_depth: self.chain.depth(),
        }
    }

    /// Runs `body` within the store's deadline.
    ///
    /// Bodies are pinned by the caller and passed by reference, so that a
    /// body is never moved (copied) from one future into the next.
    pub(crate) fn run<T, F>(&self, body: Pin<&mut F>) -> impl Future<Output = StoreResult<T>>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        within(self.shared.timeout, body, true)
    }

    /// Runs `body` within the store's deadline extended by `extra` (a
    /// blocking read's block time).
    pub(crate) fn run_extended<T, F>(
        &self,
        extra: Duration,
        body: Pin<&mut F>,
    ) -> impl Future<Output = StoreResult<T>>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        let limit = self.shared.timeout.map(|limit| limit.saturating_add(extra));
        within(limit, body, false)
    }

    /// Runs `body` without the store's overall deadline, for operations made
    /// of many steps (purge), each of which is bounded by [`Core::run`].
    pub(crate) fn run_unbounded<'b, T, F>(&self, body: Pin<&'b mut F>) -> Pin<&'b mut F>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        body
    }

    /// `value` encoded by the store's serializer, within `max_value_size`.
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> StoreResult<bytes::Bytes> {
        let bytes = self.shared.serializer.encode(value)?;
        self.check_size(bytes.len())?;
        Ok(bytes)
    }

    /// Runs `f` on `value` encoded by the store's serializer (within
    /// `max_value_size`) in a buffer of the thread that is reused: for a
    /// value copied before `f` returns, such as into a Redis command.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn with_encoded<T: serde::Serialize + ?Sized, R>(
        &self,
        value: &T,
        f: impl FnOnce(&[u8]) -> R,
    ) -> StoreResult<R> {
        thread_local! {
            static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let encode = |buffer: &mut Vec<u8>| {
            self.shared.serializer.encode_into(value, buffer)?;
            self.check_size(buffer.len())?;
            Ok(f(buffer))
        };
        // A value's `Serialize` impl that encodes through this store, or a
        // thread whose locals are being destroyed, gets a buffer of its own.
        let Some(mut buffer) = SCRATCH
            .try_with(|scratch| {
                scratch
                    .try_borrow_mut()
                    .ok()
                    .map(|mut b| std::mem::take(&mut *b))
            })
            .ok()
            .flatten()
        else {
            return encode(&mut Vec::new());
        };
        buffer.clear();
        let result = encode(&mut buffer);
        if buffer.capacity() <= SCRATCH_CAPACITY {
            let _ = SCRATCH.try_with(|scratch| {
                if let Ok(mut slot) = scratch.try_borrow_mut() {
                    *slot = buffer;
                }
            });
        }
        result
    }

    /// Fails with `STORE_VALUE_TOO_LARGE` past `max_value_size`.
    pub(crate) fn check_size(&self, size: usize) -> StoreResult<()> {
        match self.shared.max_value_size {
            Some(limit) if size > limit => Err(StoreError::new(
                ErrorCode::ValueTooLarge,
                "the encoded value is longer than the store's max_value_size",
            )
            .with_detail("size", size)
            .with_detail("limit", limit)),
            _ => Ok(()),
        }
    }

    /// Fails with `STORE_SCOPE_REQUIRED` when the chain lacks a required scope.
    pub(crate) fn check_required(&self) -> StoreResult<()> {
        let missing = self.shared.required & !self.chain.present;
        if missing == 0 {
            return Ok(());
        }
        let names: Vec<&str> = (0..self.shared.scopes.len())
            .filter(|i| missing & (1 << i) != 0)
            .map(|i| self.shared.scopes[i].key())
            .collect();
        Err(StoreError::new(
            ErrorCode::ScopeRequired,
            "the store's scope chain lacks a required scope",
        )
        .with_detail("missingScopes", names))
    }

    /// The checks every operation on a key makes: the required scopes are
    /// there and the key is not empty.
    pub(crate) fn check(&self, key: &str) -> StoreResult<()> {
        self.check_required()?;
        check_key(key)
    }

    /// The full key of `key` in `ns`, after the checks every operation makes.
    pub(crate) fn key(&self, ns: Namespace, key: &str) -> StoreResult<String> {
        self.check(key)?;
        Ok(self.chain.space.key(ns, key))
    }

    /// [`Core::key`] in a string taken from a pool of the thread (and given
    /// back when dropped), so that building the keys of operations does not
    /// allocate once the pool is warm.
    pub(crate) fn pooled_key(&self, ns: Namespace, key: &str) -> StoreResult<PooledKey> {
        self.check(key)?;
        let mut full = PooledKey::take();
        self.chain.space.push_key(ns, key, &mut full.0);
        Ok(full)
    }

    /// Runs `f` on the full key of `key` in `ns` (after the checks of
    /// [`Core::check`]), built in a buffer of the thread that is reused from
    /// one call to the next: for commands that complete before `f` returns.
    pub(crate) fn with_key<R>(
        &self,
        ns: Namespace,
        key: &str,
        f: impl FnOnce(&str) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.check(key)?;
        self.with_checked_key(ns, key, f)
    }

    /// [`Core::with_key`] without the checks, made already.
    pub(crate) fn with_checked_key<R>(
        &self,
        ns: Namespace,
        key: &str,
        f: impl FnOnce(&str) -> StoreResult<R>,
    ) -> StoreResult<R> {
        thread_local! {
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        // The buffer is taken out while `f` runs, and put back after: an `f`
        // that builds a key itself, or a thread whose locals are being
        // destroyed, gets a new string.
        let mut full = KEY
            .try_with(|buffer| buffer.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        full.clear();
        self.chain.space.push_key(ns, key, &mut full);
        let result = f(&full);
        if full.capacity() <= POOLED_KEY_CAPACITY {
            let _ = KEY.try_with(|buffer| {
                if let Ok(mut slot) = buffer.try_borrow_mut() {
                    *slot = full;
                }
            });
        }
        result
    }

    pub(crate) fn keys<K: AsRef<str>>(
        &self,
        ns: Namespace,
        keys: &[K],
    ) -> StoreResult<Vec<String>> {
        self.check_required()?;
        // Sized up front: collecting into a `Result` would grow it step by
        // step, copying it each time.
        let mut full = Vec::with_capacity(keys.len());
        for k in keys {
            let k = k.as_ref();
            check_key(k)?;
            full.push(self.chain.space.key(ns, k));
        }
        Ok(full)
    }
}

fn timeout_error() -> StoreError {
    StoreError::new(
        ErrorCode::Timeout,
        "the operation did not finish within the store's deadline",
    )
}

/// Runs `body`, failing with `STORE_TIMEOUT` once `limit` has passed since
/// it first had to wait (`None`: no limit). With `detail`, the error says the
/// limit (`details.timeoutMs`).
///
/// The timer is armed only when `body` returns `Pending`: an operation that
/// completes on its first poll never touches tokio's timer wheel, where
/// `tokio::time::timeout` would read the clock and register a timer for each
/// one.
async fn within<T, F>(
    limit: Option<Duration>,
    mut body: Pin<&mut F>,
    detail: bool,
) -> StoreResult<T>
where
    F: Future<Output = StoreResult<T>> + ?Sized,
{
    let Some(limit) = limit else {
        return body.await;
    };
    let mut sleep: Pin<&mut Option<Sleep>> = pin!(None);
    poll_fn(|cx| {
        if let Poll::Ready(result) = body.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if sleep.is_none() {
            sleep.set(Some(tokio::time::sleep(limit)));
        }
        match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
            Some(Poll::Ready(())) => {
                let error = timeout_error();
                Poll::Ready(Err(if detail {
                    error.with_detail(
                        "timeoutMs",
                        u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                    )
                } else {
                    error
                }))
            }
            _ => Poll::Pending,
        }
    })
    .await
}

thread_local! {
    /// Key strings given back by [`PooledKey`]s dropped on this thread.
    static KEY_POOL: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer [`Core::with_encoded`] keeps per thread.
const SCRATCH_CAPACITY: usize = 64 * 1024;

/// How many strings [`KEY_POOL`] keeps per thread.
const POOLED_KEYS: usize = 64;
/// The largest string capacity [`KEY_POOL`] keeps.
const POOLED_KEY_CAPACITY: usize = 512;

/// A full key in a string of the thread's pool; see [`Core::pooled_key`].
pub(crate) struct PooledKey(String);

impl PooledKey {
    fn take() -> PooledKey {
        let pooled = KEY_POOL
            .try_with(|pool| pool.try_borrow_mut().ok().and_then(|mut pool| pool.pop()))
            .ok()
            .flatten();
        PooledKey(pooled.unwrap_or_default())
    }
}

impl std::ops::Deref for PooledKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for PooledKey {
    fn drop(&mut self) {
        let mut full = std::mem::take(&mut self.0);
        if full.capacity() == 0 || full.capacity() > POOLED_KEY_CAPACITY {
            return;
        }
        full.clear();
        let _ = KEY_POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut()
                && pool.len() < POOLED_KEYS
            {
                pool.push(full);
            }
        });
    }
}

pub(crate) fn check_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::new(
            ErrorCode::KeyRequired,
            "a key must not be empty",
        ));
    }
    Ok(())
}

/// Checks a TTL: at least one millisecond (TTLs are sent as whole
/// milliseconds, rounded up) and at most 100 years. Zero is an error, never
/// "forever".
pub(crate) fn check_ttl(ttl: Duration) -> StoreResult<Duration> {
    const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    if ttl.is_zero() {
        return Err(StoreError::new(
            ErrorCode::TtlInvalid,
            "a TTL must be longer than zero",
        ));
    }
    if ttl > MAX {
        return Err(StoreError::new(
            ErrorCode::TtlInvalid,
            "a TTL must be at most 100 years",
        ));
    }
    Ok(Duration::from_millis(crate::adapter::ceil_millis(ttl)))
}

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
    pub fn adapter(&self) -> &dyn StoreAdapter {
        self.core.adapter()
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
        self.core.adapter().close().await
    }
}
