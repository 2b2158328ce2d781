//! Claims: distributed locks with owners and fencing tokens.

use crate::engine::call;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::adapter::{SetCondition, SetOptions};
use crate::engine::{Core, check_ttl};
use crate::error::{ErrorCode, StoreResult};
use crate::key::Namespace;
use crate::serializer::{JsonSerializer, Serializer};
use crate::telemetry::{ms, op};

/// Claims in the `claim` namespace of one scope chain; from
/// [`Store::claim`](crate::Store::claim).
///
/// Two forms:
///
/// - [`Claims::once`]: `SET NX PX` of an owner value, compatible with the
///   TypeScript package's `claim.once`; [`Claims::release`] gives it back,
///   only for the same owner.
/// - [`Claims::acquire`]: a [`Claim`] with a fencing token that grows with
///   every successful acquire of the key, kept in a key of its own that
///   outlives the claim. Pass the token to the resource you protect, and let
///   it refuse writes with a smaller token than it has seen: a holder that
///   paused past its TTL cannot then overwrite its successor's work.
///
/// # Fencing tokens
///
/// A token is not a small counter: it is `max(previous token + 1, the
/// backend's clock in microseconds since the Unix epoch)` (Redis's `TIME`;
/// the wall clock for the memory adapter), computed atomically with the
/// acquire. The counter alone would start again at 1 once its key is gone
/// (a purge of the tenant, a restart of Redis without AOF), and a holder
/// from before would then beat the new ones. With the clock as a floor,
/// tokens of a key grow across releases, expiries, purges and restarts
/// (with or without persistence), as long as the server's clock does not go
/// back. The caveat: a clock set back by more than the gap between the last
/// token and the clock (usually the time since the last acquire), on a
/// server that also lost the counter, can give a token that is not greater.
/// Tokens stay below 2^53 (a JavaScript number reads them exactly) until the
/// year 2255; a counter someone pushed there is `STORE_COUNTER_OVERFLOW`.
///
/// Dropping a [`Claim`] does not release it: it expires with its TTL. Release
/// it explicitly when the work is done.
///
/// ```
/// use std::time::Duration;
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let ttl = Duration::from_secs(30);
///
/// assert!(store.claim().once("invoice:42", &"worker-1", ttl).await?);
/// assert!(!store.claim().once("invoice:42", &"worker-2", ttl).await?);
///
/// let first = store.claim().acquire("report", ttl).await?.expect("free");
/// assert!(store.claim().acquire("report", ttl).await?.is_none());
/// assert!(first.release().await?);
/// let second = store.claim().acquire("report", ttl).await?.expect("free again");
/// assert!(second.token() > first.token());
/// assert!(!first.release().await?); // not the owner any more
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Claims<'a, Z> {
    core: &'a Core<Z>,
}

impl<'a, Z: Serializer> Claims<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Claims { core }
    }

    /// The full key of the claim `key`, for commands the store does not wrap.
    pub fn key(&self, key: &str) -> StoreResult<String> {
        self.core.key(Namespace::Claim, key)
    }

    /// Claims `key` for `owner` for `ttl` if nobody holds it; whether it did.
    pub async fn once<T: Serialize + ?Sized>(
        &self,
        key: &str,
        owner: &T,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let core = self.core;
        let encoded = core.encode(owner);
        op!(
            core,
            "claim",
            "claim",
            "once",
            ErrorCode::ClaimFailed,
            async {
                let full = core.key(Namespace::Claim, key)?;
                let ttl = check_ttl(ttl)?;
                let options = SetOptions::new(Some(ttl), SetCondition::IfAbsent);
                call!(core, set(&full, encoded?, options))
            },
            |v| claim.acquired = *v,
            claim.ttl = ms(Some(ttl))
        )
    }

    /// Releases a claim taken by [`Claims::once`] if `owner` holds it; a
    /// different owner gets `Ok(false)`.
    pub async fn release<T: Serialize + ?Sized>(&self, key: &str, owner: &T) -> StoreResult<bool> {
        let core = self.core;
        let encoded = core.encode(owner);
        op!(
            core,
            "claim",
            "claim",
            "release",
            ErrorCode::ClaimFailed,
            async {
                let full = core.key(Namespace::Claim, key)?;
                call!(core, compare_and_delete(&full, &encoded?))
            },
            |v| claim.released = *v
        )
    }

    /// Acquires `key` for `ttl` if nobody holds it, with a fencing token.
    pub async fn acquire(&self, key: &str, ttl: Duration) -> StoreResult<Option<Claim<Z>>> {
        let core = self.core;
        op!(
            core,
            "claim",
            "claim",
            "acquire",
            ErrorCode::ClaimFailed,
            async {
                let full = core.key(Namespace::Claim, key)?;
                let ttl = check_ttl(ttl)?;
                let fence_key = core.chain.space.fence_key(&full);
                let nonce = nonce();
                let fence = call!(core, claim_acquire(&full, &fence_key, &nonce, ttl))?;
                Ok(fence.map(|fence| Claim {
                    core: core.clone(),
                    token: format!("{fence}:{nonce}"),
                    key: full,
                    fence,
                }))
            },
            |v| claim.acquired = v.is_some(),
            claim.ttl = ms(Some(ttl))
        )
    }
}

/// A held claim, from [`Claims::acquire`]. Only this value can release or
/// extend it; once it has expired and someone else acquired the key, both
/// return `Ok(false)`.
///
/// Dropping it does not release the claim: it expires with its TTL.
pub struct Claim<Z = JsonSerializer> {
    core: Core<Z>,
    key: String,
    token: String,
    fence: u64,
}

impl<Z> fmt::Debug for Claim<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim")
            .field("token", &self.fence)
            .finish_non_exhaustive()
    }
}

impl<Z: Serializer> Claim<Z> {
    /// The fencing token: strictly greater than the token of every earlier
    /// acquire of the same key (releases, expiries, purges of the tenant and
    /// restarts of the server included, as long as the server's clock does
    /// not go back). Not a small counter: at least the server's clock in
    /// microseconds since the Unix epoch; see [the claims
    /// documentation](Claims#fencing-tokens).
    pub fn token(&self) -> u64 {
        self.fence
    }

    /// Releases the claim if this value still holds it; whether it did.
    pub async fn release(&self) -> StoreResult<bool> {
        let core = &self.core;
        op!(
            core,
            "claim",
            "claim",
            "release",
            ErrorCode::ClaimFailed,
            async { call!(core, compare_and_delete(&self.key, self.token.as_bytes())) },
            |v| claim.released = *v
        )
    }

    /// Sets the claim's remaining life to `ttl` if this value still holds it;
    /// whether it did.
    pub async fn extend(&self, ttl: Duration) -> StoreResult<bool> {
        let core = &self.core;
        op!(
            core,
            "claim",
            "claim",
            "extend",
            ErrorCode::ClaimFailed,
            async {
                let ttl = check_ttl(ttl)?;
                call!(
                    core,
                    compare_and_expire(&self.key, self.token.as_bytes(), ttl)
                )
            },
            |v| claim.extended = *v,
            claim.ttl = ms(Some(ttl))
        )
    }
}

/// A value unique to one acquire, so that two holders of the same fencing
/// number (possible only if a server's clock went back after it lost the
/// counter) are still told apart.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}
