//! [`MemoryAdapter`]: the embedded default, with Redis's semantics in process.
//!
//! This file holds the adapter and its commands on keys and strings; the
//! keyspace is in `db`, the stream commands in `streams`.

use crate::adapter::Backend;
use std::future::Future;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::pubsub::{DEFAULT_SUBSCRIBER_CAPACITY, Fanout};
use super::{
    AutoClaim, ConsumerInfo, GroupInfo, GroupRead, KeyTtl, MaxLen, MsetEntry, PendingEntry,
    PendingSummary, RangeQuery, RawEntry, RawSubscription, ScanCursor, ScanReply, SetCondition,
    SetOptions, StoreAdapter, TopicKind,
};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::glob;

mod db;
mod streams;
#[cfg(test)]
mod tests;

use db::{Db, Entry, Now, Value, closed, deadline, ttl_of};

use crate::glob::literal_prefix;

/// Fencing tokens stay below 2^53, so that JavaScript readers (whose numbers
/// are doubles) read them exactly, as the Redis script does.
const MAX_FENCE: i64 = 1 << 53;

/// The wall clock in microseconds since the Unix epoch, the floor of every
/// fencing token, like the Redis server's `TIME`. The system clock, not
/// tokio's: tokio's paused clock would stand still (and does not count from
/// the epoch), and tokens must not fall below those of an earlier process.
fn wall_clock_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// An in-process store with the semantics of Redis, the store's embedded
/// default: no server, nothing to configure.
///
/// - Expiry is in milliseconds on tokio's clock, so `tokio::time::pause` and
///   `advance` drive it in tests. An expired key is gone for every operation
///   from its deadline on. Its memory is reclaimed incrementally, as Redis's
///   active expiry does: every operation reclaims at most 64 expired keys,
///   earliest deadline first, and every key it creates one more, so that
///   500k keys expiring together cost no operation more than tens of
///   microseconds (rather than one operation of every tenant stalling while
///   all of them are freed under the lock). There is no background task:
///   memory of expired keys is reclaimed as operations flow, and an idle
///   adapter keeps it until they do. While any expired key is left, a new key
///   takes the place of one, so expired keys never make the store hold more
///   keys than were ever live at once.
/// - Commands never wait. A read (`get`) runs when it is called and returns
///   a ready future (it changes nothing, so nothing is observable before the
///   poll); every command that writes runs when its future is first polled.
/// - Counters follow `INCRBY`: a missing key starts at 0, a value that is not
///   a decimal integer (as Redis parses it) is refused, overflow is refused.
/// - SCAN uses Redis's glob rules and returns, page by page, every key present
///   for the whole scan exactly once (keys are kept in order; the cursor is the
///   last key returned). A scan reads the range of its pattern's literal
///   prefix, so a tenant's `purge` costs its own keys, not the adapter's.
/// - Lookups go through a hash map (`hashbrown`, hashed with foldhash,
///   randomly seeded), beside the ordered set that scans read. foldhash is
///   fast, not cryptographic: where untrusted parties name keys in a
///   long-running service, prefer Redis (SECURITY.md, "Known gaps").
/// - Streams follow Redis 7: ids from the wall clock, consumer groups with
///   pending entries, blocking group reads that hold no lock while they wait
///   (so they delay no other operation), `XAUTOCLAIM` with deleted entries.
///   A key holds a string or a stream; a command on the other type fails with
///   [`ErrorCode::WrongType`] (`MGET` answers nil, `SET` overwrites).
///   `MAXLEN ~` trims exactly, keeping `len` entries, which is what Redis
///   promises (at least `len`).
///
/// Cloning is cheap and shares the data.
///
/// ```
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// store.kv().set("greeting", &"hello").await?;
/// assert_eq!(store.kv().get::<String>("greeting").await?.as_deref(), Some("hello"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAdapter")
            .field("keys", &self.db().live_len(Now::at(Instant::now())))
            .finish_non_exhaustive()
    }
}

struct Inner {
    db: Mutex<Db>,
    closed: AtomicBool,
    fanout: Fanout,
    /// Wakes blocked stream reads (the same as [`Db::wake`]).
    wake: Arc<Notify>,
}

impl Default for Inner {
    fn default() -> Self {
        let wake = Arc::new(Notify::new());
        Inner {
            db: Mutex::new(Db::new(Arc::clone(&wake))),
            closed: AtomicBool::new(false),
            fanout: Fanout::new(DEFAULT_SUBSCRIBER_CAPACITY, None),
            wake,
        }
    }
}

impl MemoryAdapter {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose subscribers may fall `capacity` messages behind
    /// before they are told they lost some (default
    /// [`DEFAULT_SUBSCRIBER_CAPACITY`]).
    pub fn with_subscriber_capacity(capacity: usize) -> Self {
        MemoryAdapter {
            inner: Arc::new(Inner {
                fanout: Fanout::new(capacity, None),
                ..Inner::default()
            }),
        }
    }

    /// How many live keys the store holds. Expired keys whose memory is not
    /// reclaimed yet are not counted; counting them out walks their part of
    /// the expiry index.
    pub fn len(&self) -> usize {
        let mut db = self.db();
        let now = Instant::now();
        db.begin(|| now);
        db.live_len(Now::at(now))
    }

    /// Whether the store holds no live key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every key (`FLUSHDB`).
    pub fn clear(&self) {
        let cleared = self.db().clear();
        // Freed after the lock is released, so that other operations do not
        // wait for it.
        drop(cleared);
    }

    #[inline]
    fn db(&self) -> MutexGuard<'_, Db> {
        // No code path panics while holding the lock; should one ever do so,
        // the data is still consistent, so keep serving it.
        self.inner.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the data and reclaims a bounded number of expired keys (see
    /// [`Db::begin`]), or fails when closed; the operation's [`Now`], for
    /// which the clock is read only when some key has a TTL.
    #[inline]
    fn open_live(&self) -> StoreResult<(MutexGuard<'_, Db>, Now)> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let mut db = self.db();
        let now = db.begin(Instant::now);
        Ok((db, now))
    }

    /// `GET key`, at once: the engine's kv get on this adapter calls it
    /// directly, with no future to poll.
    #[inline]
    pub(crate) fn get_string(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let (db, now) = self.open_live()?;
        Ok(db.string(key, now)?.cloned())
    }

    /// `SET key value [PX ttl]`, at once: the engine's kv set on this
    /// adapter calls it directly, with no future to poll.
    #[inline]
    pub(crate) fn set_string(
        &self,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let (mut db, now) = self.open_live()?;
        let at = ttl.map(|ttl| deadline(Instant::now(), ttl));
        let old = db.replace(key, Value::Str(value), at, now);
        // The old value is freed after the lock is released.
        drop(db);
        drop(old);
        Ok(())
    }

    /// [`MemoryAdapter::open_live`] for an operation that needs the time
    /// anyway (a deadline, an idle time): the clock is read once.
    fn open(&self) -> StoreResult<(MutexGuard<'_, Db>, Instant, Now)> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let now = Instant::now();
        let mut db = self.db();
        db.begin(|| now);
        Ok((db, now, Now::at(now)))
    }
}

impl StoreAdapter for MemoryAdapter {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn into_backend(self) -> Backend {
        Backend::Memory(self)
    }

    // A read runs when it is called and its future is ready: nothing of it
    // is observable before it is polled (it writes nothing), and the engine's
    // memory fast path pays for no state machine on every get.
    fn get(&self, key: &str) -> impl Future<Output = StoreResult<Option<Bytes>>> + Send {
        std::future::ready(self.get_string(key))
    }

    async fn set(&self, key: &str, value: Bytes, options: SetOptions) -> StoreResult<bool> {
        match options.condition {
            SetCondition::Always => {
                return self.set_string(key, value, options.ttl).map(|()| true);
            }
            SetCondition::IfAbsent => {}
        }
        let (mut db, now) = self.open_live()?;
        if db.live(key, now).is_some() {
            return Ok(false);
        }
        let at = options.ttl.map(|ttl| deadline(Instant::now(), ttl));
        let old = db.replace(key, Value::Str(value), at, now);
        drop(db);
        drop(old);
        Ok(true)
    }

    async fn del(&self, keys: &[Bytes]) -> StoreResult<u64> {
        let (mut db, now) = self.open_live()?;
        // Every key this adapter holds is UTF-8 (it is written through `&str`),
        // so a key that is not cannot exist.
        Ok(keys
            .iter()
            .filter_map(|k| std::str::from_utf8(k).ok())
            .filter(|k| db.remove(k, now))
            .count() as u64)
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        let (db, now) = self.open_live()?;
        Ok(db.live(key, now).is_some())
    }

    async fn pexpire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        let (mut db, at, now) = self.open()?;
        if db.live(key, now).is_none() {
            return Ok(false);
        }
        db.set_expiry(key, Some(deadline(at, ttl)), now);
        Ok(true)
    }

    async fn pttl(&self, key: &str) -> StoreResult<KeyTtl> {
        let (db, at, now) = self.open()?;
        Ok(db.live(key, now).map_or(KeyTtl::Missing, |e| ttl_of(e, at)))
    }

    async fn persist(&self, key: &str) -> StoreResult<bool> {
        let (mut db, now) = self.open_live()?;
        match db.live(key, now) {
            Some(Entry {
                expires_at: Some(_),
                ..
            }) => {
                db.set_expiry(key, None, now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> StoreResult<i64> {
        let (mut db, now) = self.open_live()?;
        let current = db.integer(key, now)?;
        let value = current.unwrap_or(0).checked_add(delta).ok_or_else(|| {
            StoreError::new(
                ErrorCode::CounterOverflow,
                "increment or decrement would overflow",
            )
        })?;
        let bytes = Bytes::from(value.to_string());
        match (current, db.live_mut(key, now)) {
            (Some(_), Some(entry)) => entry.value = Value::Str(bytes),
            // Missing or expired: a new counter, with the TTL of a new one.
            _ => {
                let at = ttl_if_created.map(|ttl| deadline(Instant::now(), ttl));
                db.insert(key, Value::Str(bytes), at, now);
            }
        }
        Ok(value)
    }

    async fn mget(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        let (db, now) = self.open_live()?;
        // MGET answers nil for a key of another type rather than failing.
        Ok(keys
            .iter()
            .map(|k| db.string(k, now).ok().flatten().cloned())
            .collect())
    }

    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()> {
        let (mut db, at, now) = self.open()?;
        for entry in entries {
            let expires_at = entry.ttl.map(|ttl| deadline(at, ttl));
            db.insert(&entry.key, Value::Str(entry.value), expires_at, now);
        }
        Ok(())
    }

    async fn claim_acquire(
        &self,
        key: &str,
        fence_key: &str,
        nonce: &str,
        ttl: Duration,
    ) -> StoreResult<Option<u64>> {
        let (mut db, at, now) = self.open()?;
        if db.live(key, now).is_some() {
            return Ok(None);
        }
        // As the Redis script: INCR, refuse 2^53 and past (after the
        // increment, as Redis does), then raise the counter to the clock.
        let incremented = db
            .integer(fence_key, now)?
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| {
                StoreError::new(
                    ErrorCode::CounterOverflow,
                    "the fencing counter would overflow",
                )
            })?;
        let keep = db.live(fence_key, now).and_then(|e| e.expires_at);
        if incremented >= MAX_FENCE {
            db.insert(
                fence_key,
                Value::Str(Bytes::from(incremented.to_string())),
                keep,
                now,
            );
            return Err(StoreError::new(
                ErrorCode::CounterOverflow,
                "the fencing token would overflow 2^53",
            ));
        }
        let fence = incremented.max(wall_clock_micros());
        db.insert(
            fence_key,
            Value::Str(Bytes::from(fence.to_string())),
            keep,
            now,
        );
        let token = format!("{fence}:{nonce}");
        db.insert(
            key,
            Value::Str(Bytes::from(token)),
            Some(deadline(at, ttl)),
            now,
        );
        // `fence` is at least the clock, which is never negative.
        Ok(Some(fence.unsigned_abs()))
    }

    async fn compare_and_delete(&self, key: &str, expected: &[u8]) -> StoreResult<bool> {
        let (mut db, now) = self.open_live()?;
        if db.string(key, now)?.is_some_and(|v| v.as_ref() == expected) {
            db.remove(key, now);
            return Ok(true);
        }
        Ok(false)
    }

    async fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        let (mut db, at, now) = self.open()?;
        if db.string(key, now)?.is_some_and(|v| v.as_ref() == expected) {
            db.set_expiry(key, Some(deadline(at, ttl)), now);
            return Ok(true);
        }
        Ok(false)
    }

    async fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply> {
        let (db, now) = self.open_live()?;
        let prefix = literal_prefix(pattern);
        // The cursor is the last key examined, relative to the pattern's
        // literal prefix (so it names no scope): `k<rest of the key>`.
        let resumed;
        let start = if cursor.is_done() {
            Bound::Included(prefix.as_str())
        } else {
            let rest = cursor.as_str().strip_prefix('k').ok_or_else(|| {
                StoreError::new(
                    ErrorCode::ScanFailed,
                    "the scan cursor was not made by this adapter",
                )
            })?;
            resumed = format!("{prefix}{rest}");
            Bound::Excluded(resumed.as_str())
        };
        let mut keys = Vec::new();
        let mut last: Option<&str> = None;
        // Expired keys count as examined but are never returned.
        let range = db.live_keys(start, now);
        for (examined, (key, live)) in range.enumerate() {
            if !key.starts_with(&prefix) {
                break;
            }
            if let Some(last) = last.filter(|_| examined == count.max(1)) {
                return Ok(ScanReply {
                    cursor: ScanCursor::from_string(format!("k{}", &last[prefix.len()..])),
                    keys,
                });
            }
            last = Some(key);
            if live && glob::matches(pattern.as_bytes(), key.as_bytes()) {
                keys.push(Bytes::copy_from_slice(key.as_bytes()));
            }
        }
        Ok(ScanReply {
            cursor: ScanCursor::start(),
            keys,
        })
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> StoreResult<u64> {
        drop(self.open_live()?);
        Ok(self.inner.fanout.publish_local(channel, &payload))
    }

    async fn subscribe(&self, kind: TopicKind, topic: &str) -> StoreResult<RawSubscription> {
        drop(self.open_live()?);
        self.inner.fanout.join(kind, topic).ok_or_else(closed)
    }

    fn active_subscriptions(&self) -> (usize, usize) {
        self.inner.fanout.active()
    }

    async fn xadd(
        &self,
        key: &str,
        payload: Bytes,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        self.stream_add(key, payload, max_len)
    }

    async fn xrange(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>> {
        self.stream_range(key, query)
    }

    async fn xlen(&self, key: &str) -> StoreResult<u64> {
        self.stream_len(key)
    }

    async fn xtrim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64> {
        self.stream_trim(key, max_len)
    }

    async fn xgroup_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool> {
        self.group_create(key, group, start_id)
    }

    async fn xgroup_delconsumer(&self, key: &str, group: &str, consumer: &str) -> StoreResult<u64> {
        self.group_delconsumer(key, group, consumer)
    }

    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>> {
        self.group_read(key, read).await
    }

    async fn xack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64> {
        self.group_ack(key, group, ids)
    }

    async fn xpending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary> {
        self.pending_summary(key, group)
    }

    async fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>> {
        self.pending_range(key, group, query, consumer)
    }

    async fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim> {
        self.auto_claim(key, read, min_idle, start)
    }

    async fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>> {
        self.claim(key, read, min_idle, ids)
    }

    async fn xinfo_groups(&self, key: &str) -> StoreResult<Vec<GroupInfo>> {
        self.group_infos(key)
    }

    async fn xinfo_consumers(&self, key: &str, group: &str) -> StoreResult<Vec<ConsumerInfo>> {
        self.consumer_infos(key, group)
    }

    async fn xdel(&self, key: &str, ids: &[String]) -> StoreResult<u64> {
        self.stream_delete(key, ids)
    }

    async fn xmove(&self, from: &str, id: &str, to: &str) -> StoreResult<Option<String>> {
        self.stream_move(from, id, to)
    }

    async fn close(&self) -> StoreResult<()> {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.fanout.close();
        // Blocked stream reads look again, and fail as closed.
        self.inner.wake.notify_waiters();
        Ok(())
    }
}
