//! Atomic counters: [`Counter`].

use crate::engine::call;
use std::future::IntoFuture;
use std::time::Duration;

use crate::adapter::parse_integer;
use crate::engine::StoreFuture;
use crate::engine::{Core, check_ttl};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::key::Namespace;
use crate::serializer::Serializer;
use crate::telemetry::{ms, op};

/// Atomic counters in the `counter` namespace of one scope chain (so `kv`
/// never reads them); from [`Store::counter`](crate::Store::counter).
///
/// Values are stored as decimal integers, as Redis's `INCRBY` keeps them. A
/// missing counter counts as 0; a value that is not an integer fails with
/// `STORE_VALUE_NOT_INTEGER`, and leaving the `i64` range with
/// `STORE_COUNTER_OVERFLOW`.
///
/// A fixed-window rate limiter is one call: the TTL is set only by the
/// increment that creates the counter, atomically, so the window never
/// slides and a crash between two commands cannot leave a counter that never
/// expires.
///
/// ```
/// use std::time::Duration;
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let hits = store.counter();
/// assert_eq!(hits.increment("visits").await?, 1);
/// assert_eq!(hits.increment_by("visits", 10).await?, 11);
/// assert_eq!(hits.decrement("visits").await?, 10);
/// assert_eq!(hits.get("visits").await?, 10);
///
/// // 100 requests per minute per client
/// let used = hits.increment("rate:client_1").ttl_on_create(Duration::from_secs(60)).await?;
/// assert!(used <= 100);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Counter<'a, Z> {
    core: &'a Core<Z>,
}

impl<'a, Z: Serializer> Counter<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Counter { core }
    }

    /// The full key of the counter `key`, for commands the store does not wrap.
    pub fn key(&self, key: &str) -> StoreResult<String> {
        self.core.key(Namespace::Counter, key)
    }

    /// Adds 1; await it, after `.ttl_on_create(..)` for a rate limiter.
    /// Resolves to the new value.
    pub fn increment(&self, key: &'a str) -> Increment<'a, Z> {
        self.increment_by(key, 1)
    }

    /// Adds `delta` (which may be negative).
    pub fn increment_by(&self, key: &'a str, delta: i64) -> Increment<'a, Z> {
        Increment {
            core: self.core,
            key,
            delta: Some(delta),
            ttl: None,
        }
    }

    /// Subtracts 1.
    pub fn decrement(&self, key: &'a str) -> Increment<'a, Z> {
        self.increment_by(key, -1)
    }

    /// Subtracts `delta`. `i64::MIN` cannot be negated and fails with
    /// `STORE_COUNTER_OVERFLOW`.
    pub fn decrement_by(&self, key: &'a str, delta: i64) -> Increment<'a, Z> {
        Increment {
            core: self.core,
            key,
            delta: delta.checked_neg(),
            ttl: None,
        }
    }

    /// The current value; 0 when the counter does not exist.
    pub async fn get(&self, key: &str) -> StoreResult<i64> {
        let core = self.core;
        op!(
            core,
            "counter",
            "counter",
            "get",
            ErrorCode::GetFailed,
            async {
                let value = core
                    .get_with(Namespace::Counter, key, parse_integer)
                    .await?;
                Ok(value.unwrap_or(0))
            },
            |v| counter.value = *v
        )
    }

    /// Sets the TTL of the counter; whether it exists.
    pub async fn expire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "counter",
            "counter",
            "expire",
            ErrorCode::SetFailed,
            async {
                let full = core.pooled_key(Namespace::Counter, key)?;
                let ttl = check_ttl(ttl)?;
                call!(core, pexpire(&full, ttl))
            },
            |v| kv.existed = *v,
            counter.ttl = ms(Some(ttl))
        )
    }

    /// Removes the counter; whether it existed.
    pub async fn remove(&self, key: &str) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "counter",
            "counter",
            "remove",
            ErrorCode::DeleteFailed,
            async {
                let full = core.key(Namespace::Counter, key)?;
                Ok(call!(core, del(&[full.into()]))? > 0)
            },
            |v| kv.existed = *v
        )
    }
}

/// A pending increment or decrement: add `.ttl_on_create(..)`, then `.await`
/// it for the new value.
#[must_use = "an increment does nothing until it is awaited"]
#[derive(Debug)]
pub struct Increment<'a, Z> {
    core: &'a Core<Z>,
    key: &'a str,
    /// `None` when the delta cannot be represented (`decrement_by(i64::MIN)`).
    delta: Option<i64>,
    ttl: Option<Duration>,
}

impl<Z> Increment<'_, Z> {
    /// Sets `ttl` on the counter if, and only if, this increment creates it,
    /// in the same atomic step: the fixed-window rate limiter.
    pub fn ttl_on_create(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl<'a, Z: Serializer> IntoFuture for Increment<'a, Z> {
    type Output = StoreResult<i64>;
    type IntoFuture = StoreFuture<'a, i64>;

    fn into_future(self) -> Self::IntoFuture {
        let Increment {
            core,
            key,
            delta,
            ttl,
        } = self;
        Box::pin(async move {
            if delta.is_none_or(|d| d >= 0) {
                op!(
                    core,
                    "counter",
                    "counter",
                    "increment",
                    ErrorCode::IncrementFailed,
                    apply(core, key, delta, ttl),
                    |v| counter.delta = delta,
                    counter.value = *v,
                    counter.ttl = ms(ttl)
                )
            } else {
                op!(
                    core,
                    "counter",
                    "counter",
                    "decrement",
                    ErrorCode::IncrementFailed,
                    apply(core, key, delta, ttl),
                    |v| counter.delta = delta,
                    counter.value = *v,
                    counter.ttl = ms(ttl)
                )
            }
        })
    }
}

async fn apply<Z: Serializer>(
    core: &Core<Z>,
    key: &str,
    delta: Option<i64>,
    ttl: Option<Duration>,
) -> StoreResult<i64> {
    core.check(key)?;
    let delta = delta.ok_or_else(|| {
        StoreError::new(
            ErrorCode::CounterOverflow,
            "increment or decrement would overflow",
        )
    })?;
    let ttl = ttl.map(check_ttl).transpose()?;
    core.incr_by_key(Namespace::Counter, key, delta, ttl).await
}
