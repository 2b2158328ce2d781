//! The contract every backend implements: [`StoreAdapter`].
//!
//! Adapters work on full keys and bytes. Serialization, key building, scopes,
//! validation, deadlines and telemetry all live above them, in the store, so an
//! adapter is a thin, testable translation to its backend. The conformance
//! suite of this repository holds every adapter to the same behaviour, with
//! Redis as the reference.
//!
//! The trait's methods are native `async` methods, so calling them costs no
//! allocation: the store awaits the futures of the built-in adapters
//! ([`memory::MemoryAdapter`], and with their features the Redis and Redis
//! Cluster adapters) directly. Any other adapter, including one that wraps a
//! built-in adapter, is called through [`DynStoreAdapter`], the trait's
//! object-safe form (boxed futures), which every adapter implements: only a
//! custom adapter pays for `dyn`. Each adapter says which it is
//! ([`StoreAdapter::into_backend`], a [`Backend`]); nothing is downcast.
//! (On Redis, the hottest commands skip even the trait: the store writes the
//! key straight into the command.)

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::StoreResult;

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod memory;
pub mod pubsub;
#[cfg(feature = "redis")]
pub mod redis;
pub mod streams;

mod backend;
pub use backend::Backend;

pub use pubsub::{RawMessage, RawSubscription, RecvError, TopicKind};
pub use streams::{
    AutoClaim, ConsumerInfo, DATA_FIELD, GroupInfo, GroupRead, MaxLen, PendingEntry,
    PendingSummary, RangeQuery, RawEntry,
};

/// Parses an integer as Redis's `string2ll` does: an optional `-`, no `+`, no
/// leading zeros, no white space, within `i64`.
pub(crate) fn parse_redis_integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let valid = match digits {
        [] => false,
        [b'0'] => bytes.len() == 1,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !valid || bytes.len() > 20 {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// [`parse_redis_integer`], failing with `STORE_VALUE_NOT_INTEGER`.
pub(crate) fn parse_integer(bytes: &[u8]) -> StoreResult<i64> {
    parse_redis_integer(bytes).ok_or_else(|| {
        crate::StoreError::new(
            crate::ErrorCode::ValueNotInteger,
            "the value at the key is not an integer or out of range",
        )
    })
}

/// `d` in whole milliseconds, rounded up, as TTLs travel (`PX`, `PTTL`).
pub(crate) fn ceil_millis(d: Duration) -> u64 {
    let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// How a [`StoreAdapter::set`] behaves when the key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SetCondition {
    /// Always write (`SET`).
    #[default]
    Always,
    /// Write only when the key does not exist (`SET NX`).
    IfAbsent,
}

/// Options of [`StoreAdapter::set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SetOptions {
    /// Time to live (`PX`); `None` keeps the key until it is removed.
    pub ttl: Option<Duration>,
    /// When to write.
    pub condition: SetCondition,
}

impl SetOptions {
    /// Options with a TTL and a condition.
    pub fn new(ttl: Option<Duration>, condition: SetCondition) -> Self {
        SetOptions { ttl, condition }
    }
}

/// One entry of [`StoreAdapter::mset`].
#[derive(Clone, PartialEq, Eq)]
pub struct MsetEntry {
    /// The full key.
    pub key: String,
    /// The encoded value.
    pub value: Bytes,
    /// Its own TTL, if any.
    pub ttl: Option<Duration>,
}

impl fmt::Debug for MsetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsetEntry")
            .field("len", &self.value.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The remaining life of a key (`PTTL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// The key does not exist (`-2`).
    Missing,
    /// The key exists and never expires (`-1`).
    Persistent,
    /// The key expires after this long.
    Expires(Duration),
}

/// An opaque position in a SCAN. [`ScanCursor::start`] begins a scan; a scan
/// is over when the adapter hands back a cursor that
/// [`is_done`](ScanCursor::is_done).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScanCursor(String);

impl ScanCursor {
    /// The cursor that starts a scan.
    pub fn start() -> Self {
        ScanCursor(String::new())
    }

    /// A cursor from the text an adapter (or a previous page) gave.
    pub fn from_string(s: impl Into<String>) -> Self {
        let s = s.into();
        if s == "0" {
            ScanCursor::start()
        } else {
            ScanCursor(s)
        }
    }

    /// The cursor's text, to hand to the adapter that made it.
    pub fn as_str(&self) -> &str {
        if self.0.is_empty() { "0" } else { &self.0 }
    }

    /// Whether this cursor is the start of a scan (and so, when returned by
    /// an adapter, the end of one).
    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }
}

/// One page of a SCAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReply {
    /// The cursor to continue from; [`ScanCursor::is_done`] when the scan is over.
    pub cursor: ScanCursor,
    /// The full keys of this page, as the backend holds them: bytes, since a
    /// key the store did not write need not be UTF-8.
    pub keys: Vec<Bytes>,
}

/// The operations a backend provides, on full keys and bytes.
///
/// Errors are [`StoreError`](crate::StoreError)s: backends give connection
/// failures [`ErrorCode::ConnectionFailed`](crate::ErrorCode::ConnectionFailed),
/// wrong types [`ErrorCode::WrongType`](crate::ErrorCode::WrongType), and
/// failures without a code of their own
/// [`ErrorCode::OperationFailed`](crate::ErrorCode::OperationFailed), which the
/// store turns into the failing operation's code.
///
/// Every operation is required (only [`into_backend`](Self::into_backend)
/// and [`unlink`](Self::unlink) have defaults), so what an adapter does is fixed
/// when it compiles: there is no "unsupported" answer waiting for the first
/// call in production. An adapter that cannot do something (a backend
/// without streams, say) says so in its own code, with the error it chooses.
///
/// The operations are native `async` methods (implementers write `async
/// fn`); their futures must be `Send`. The store awaits those of the
/// built-in adapters directly, without boxing them; any other adapter it
/// calls through [`DynStoreAdapter`], this trait's object-safe form, which
/// every adapter implements.
///
/// `Any` is a supertrait so that `Store::adapter_as` can hand out the
/// concrete adapter (and through it the backend's client).
pub trait StoreAdapter: Any + Send + Sync {
    /// A short name for logs and telemetry, e.g. `"memory"`.
    fn name(&self) -> &'static str;

    /// The [`Backend`] a store runs this adapter on. Keep the default,
    /// [`Backend::Custom`]: the store then calls the adapter through
    /// [`DynStoreAdapter`], with boxed futures. The built-in adapters return
    /// their own variant, whose futures the store awaits directly; a wrapper
    /// that returned the variant of the adapter it wraps would be bypassed.
    fn into_backend(self) -> Backend
    where
        Self: Sized,
    {
        Backend::Custom(Arc::new(self))
    }

    /// `GET key`.
    fn get(&self, key: &str) -> impl Future<Output = StoreResult<Option<Bytes>>> + Send;

    /// `SET key value [PX ttl] [NX]`; whether the value was written.
    fn set(
        &self,
        key: &str,
        value: Bytes,
        options: SetOptions,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `DEL keys...`; how many existed. Keys are bytes, so that a key read
    /// back by [`scan`](Self::scan) can be removed whatever it holds.
    fn del(&self, keys: &[Bytes]) -> impl Future<Output = StoreResult<u64>> + Send;

    /// `EXISTS key`.
    fn exists(&self, key: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `PEXPIRE key ttl`; whether the key exists.
    fn pexpire(&self, key: &str, ttl: Duration) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `PTTL key`.
    fn pttl(&self, key: &str) -> impl Future<Output = StoreResult<KeyTtl>> + Send;

    /// `PERSIST key`; whether a TTL was removed.
    fn persist(&self, key: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `INCRBY key delta`, and, when `ttl_if_created` is given and the key did
    /// not exist before, `PEXPIRE key ttl` in the same atomic step. Returns
    /// the new value.
    fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// `MGET keys...`, in order.
    fn mget(&self, keys: &[String])
    -> impl Future<Output = StoreResult<Vec<Option<Bytes>>>> + Send;

    /// Writes every entry, each with its own TTL, atomically: all or none.
    fn mset(&self, entries: Vec<MsetEntry>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Acquires the claim at `key` if it is free, atomically: increments the
    /// fencing counter at `fence_key` (which never expires), raises it to the
    /// backend's clock in microseconds since the Unix epoch if it is lower,
    /// calls the result `n`, and sets `key` to `"<n>:<nonce>"` with `ttl`.
    /// Returns `n`, or `None` when the claim is held. The clock is what keeps
    /// `n` growing when the counter is lost (a purge, a restart without
    /// persistence). A counter that would reach 2^53 is
    /// `STORE_COUNTER_OVERFLOW`, and the claim is not taken.
    fn claim_acquire(
        &self,
        key: &str,
        fence_key: &str,
        nonce: &str,
        ttl: Duration,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;

    /// Deletes `key` if it holds exactly `expected`; whether it did.
    fn compare_and_delete(
        &self,
        key: &str,
        expected: &[u8],
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Sets the TTL of `key` if it holds exactly `expected`; whether it did.
    fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `SCAN cursor MATCH pattern COUNT count`: a page of keys matching
    /// `pattern` (Redis glob rules). A key present for the whole scan is
    /// returned at least once.
    fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> impl Future<Output = StoreResult<ScanReply>> + Send;

    /// `PUBLISH channel payload`: how many backend subscriptions received
    /// it. On Redis that counts subscribed connections (one per process and
    /// channel or pattern), not local subscribers.
    fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Subscribes to a channel or a pattern (`SUBSCRIBE` / `PSUBSCRIBE`),
    /// sharing one backend subscription among every local subscriber of the
    /// same topic. Returns once the subscription is active: a message
    /// published after it returns is received.
    fn subscribe(
        &self,
        kind: TopicKind,
        topic: &str,
    ) -> impl Future<Output = StoreResult<RawSubscription>> + Send;

    /// The backend subscriptions held for local subscribers: `(channels,
    /// patterns)`.
    fn active_subscriptions(&self) -> (usize, usize);

    /// Removes `keys` (`UNLINK`); how many existed.
    fn unlink(&self, keys: &[Bytes]) -> impl Future<Output = StoreResult<u64>> + Send {
        self.del(keys)
    }

    /// `XADD key [MAXLEN [~] n] * data <payload>`: the new entry's id.
    fn xadd(
        &self,
        key: &str,
        payload: Bytes,
        max_len: Option<MaxLen>,
    ) -> impl Future<Output = StoreResult<String>> + Send;

    /// `XRANGE` / `XREVRANGE`.
    fn xrange(
        &self,
        key: &str,
        query: &RangeQuery,
    ) -> impl Future<Output = StoreResult<Vec<RawEntry>>> + Send;

    /// `XLEN key`.
    fn xlen(&self, key: &str) -> impl Future<Output = StoreResult<u64>> + Send;

    /// `XTRIM key MAXLEN [~] n`: how many entries were removed.
    fn xtrim(&self, key: &str, max_len: MaxLen) -> impl Future<Output = StoreResult<u64>> + Send;

    /// `XGROUP CREATE key group start_id MKSTREAM`: whether the group was
    /// created (`false` when it existed: `BUSYGROUP` is not an error).
    fn xgroup_create(
        &self,
        key: &str,
        group: &str,
        start_id: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `XGROUP DELCONSUMER key group consumer`: how many pending entries the
    /// consumer had (they are no longer pending).
    fn xgroup_delconsumer(
        &self,
        key: &str,
        group: &str,
        consumer: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// `XREADGROUP ... STREAMS key >`: new entries for the consumer, now
    /// pending. A blocking read must not hold up other operations (Redis:
    /// a connection of its own). A missing group fails with
    /// `STORE_STREAM_GROUP_NOT_FOUND`.
    fn xreadgroup(
        &self,
        key: &str,
        read: &GroupRead,
    ) -> impl Future<Output = StoreResult<Vec<RawEntry>>> + Send;

    /// `XACK key group ids...`: how many were pending.
    fn xack(
        &self,
        key: &str,
        group: &str,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// `XPENDING key group`.
    fn xpending_summary(
        &self,
        key: &str,
        group: &str,
    ) -> impl Future<Output = StoreResult<PendingSummary>> + Send;

    /// `XPENDING key group start end count [consumer]`.
    fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<PendingEntry>>> + Send;

    /// `XAUTOCLAIM key group consumer min_idle start COUNT count`.
    fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> impl Future<Output = StoreResult<AutoClaim>> + Send;

    /// `XCLAIM key group consumer min_idle ids...`: the pending entries of
    /// `ids` idle for at least `min_idle` become `consumer`'s, delivered now,
    /// their delivery counts incremented; returns them. Ids not pending are
    /// skipped; ids pending but no longer in the stream are dropped from the
    /// pending list and not returned (Redis 7). A missing key or group fails
    /// with `STORE_STREAM_GROUP_NOT_FOUND`; an id that is not `<ms>-<seq>`
    /// with `STORE_STREAM_ID_INVALID`, before anything changes. No ids: no
    /// entries, without I/O.
    fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<RawEntry>>> + Send;

    /// `XINFO GROUPS key`, in name order; empty when the key does not exist
    /// (where Redis answers `no such key`).
    fn xinfo_groups(&self, key: &str) -> impl Future<Output = StoreResult<Vec<GroupInfo>>> + Send;

    /// `XINFO CONSUMERS key group`, in name order; empty when the key or the
    /// group does not exist (where Redis answers an error).
    fn xinfo_consumers(
        &self,
        key: &str,
        group: &str,
    ) -> impl Future<Output = StoreResult<Vec<ConsumerInfo>>> + Send;

    /// `XDEL key ids...`: how many of the entries existed (0 for no ids,
    /// without I/O). Pending entries stay pending (as in Redis).
    fn xdel(&self, key: &str, ids: &[String]) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Moves the entry `id` (`<ms>-<seq>`) of the stream `from` to the end of
    /// the stream `to`, in one atomic step: `XRANGE from id id`, `XADD to *`
    /// with its fields, `XDEL from id`. Returns the new id, or `None` when
    /// `from` holds no such entry (so a repeated move never doubles it). A
    /// backend that cannot do it atomically for these two keys refuses, and
    /// changes nothing (Redis Cluster, keys in two slots:
    /// `STORE_STREAM_CROSS_SLOT`).
    fn xmove(
        &self,
        from: &str,
        id: &str,
        to: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Closes the adapter; operations after it fail with
    /// [`ErrorCode::NotConnected`](crate::ErrorCode::NotConnected).
    fn close(&self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// [`StoreAdapter`] as an object: the same methods, with boxed futures.
/// Implemented for every [`StoreAdapter`]; do not implement it yourself.
///
/// The store calls a custom adapter ([`Backend::Custom`]) through it, and
/// [`Store::adapter`](crate::Store::adapter) hands it out, so that an
/// operation the store does not wrap can be called on any adapter. Its
/// methods are those of [`StoreAdapter`], with the same names.
#[async_trait]
pub trait DynStoreAdapter: Any + Send + Sync {
    /// A short name for logs and telemetry, e.g. `"memory"`.
    fn name(&self) -> &'static str;

    /// `GET key`.
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>>;

    /// `SET key value [PX ttl] [NX]`; whether the value was written.
    async fn set(&self, key: &str, value: Bytes, options: SetOptions) -> StoreResult<bool>;

    /// `DEL keys...`; how many existed. Keys are bytes, so that a key read
    /// back by [`scan`](Self::scan) can be removed whatever it holds.
    async fn del(&self, keys: &[Bytes]) -> StoreResult<u64>;

    /// `EXISTS key`.
    async fn exists(&self, key: &str) -> StoreResult<bool>;

    /// `PEXPIRE key ttl`; whether the key exists.
    async fn pexpire(&self, key: &str, ttl: Duration) -> StoreResult<bool>;

    /// `PTTL key`.
    async fn pttl(&self, key: &str) -> StoreResult<KeyTtl>;

    /// `PERSIST key`; whether a TTL was removed.
    async fn persist(&self, key: &str) -> StoreResult<bool>;

    /// `INCRBY key delta`, and, when `ttl_if_created` is given and the key did
    /// not exist before, `PEXPIRE key ttl` in the same atomic step. Returns
    /// the new value.
    async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> StoreResult<i64>;

    /// `MGET keys...`, in order.
    async fn mget(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>>;

    /// Writes every entry, each with its own TTL, atomically: all or none.
    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()>;

    /// Acquires the claim at `key` if it is free, atomically: increments the
    /// fencing counter at `fence_key` (which never expires), raises it to the
    /// backend's clock in microseconds since the Unix epoch if it is lower,
    /// calls the result `n`, and sets `key` to `"<n>:<nonce>"` with `ttl`.
    /// Returns `n`, or `None` when the claim is held. The clock is what keeps
    /// `n` growing when the counter is lost (a purge, a restart without
    /// persistence). A counter that would reach 2^53 is
    /// `STORE_COUNTER_OVERFLOW`, and the claim is not taken.
    async fn claim_acquire(
        &self,
        key: &str,
        fence_key: &str,
        nonce: &str,
        ttl: Duration,
    ) -> StoreResult<Option<u64>>;

    /// Deletes `key` if it holds exactly `expected`; whether it did.
    async fn compare_and_delete(&self, key: &str, expected: &[u8]) -> StoreResult<bool>;

    /// Sets the TTL of `key` if it holds exactly `expected`; whether it did.
    async fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool>;

    /// `SCAN cursor MATCH pattern COUNT count`: a page of keys matching
    /// `pattern` (Redis glob rules). A key present for the whole scan is
    /// returned at least once.
    async fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply>;

    /// `PUBLISH channel payload`: how many backend subscriptions received
    /// it. On Redis that counts subscribed connections (one per process and
    /// channel or pattern), not local subscribers.
    async fn publish(&self, channel: &str, payload: Bytes) -> StoreResult<u64>;

    /// Subscribes to a channel or a pattern (`SUBSCRIBE` / `PSUBSCRIBE`),
    /// sharing one backend subscription among every local subscriber of the
    /// same topic. Returns once the subscription is active: a message
    /// published after it returns is received.
    async fn subscribe(&self, kind: TopicKind, topic: &str) -> StoreResult<RawSubscription>;

    /// The backend subscriptions held for local subscribers: `(channels,
    /// patterns)`.
    fn active_subscriptions(&self) -> (usize, usize);

    /// Removes `keys` (`UNLINK`); how many existed.
    async fn unlink(&self, keys: &[Bytes]) -> StoreResult<u64>;

    /// `XADD key [MAXLEN [~] n] * data <payload>`: the new entry's id.
    async fn xadd(&self, key: &str, payload: Bytes, max_len: Option<MaxLen>)
    -> StoreResult<String>;

    /// `XRANGE` / `XREVRANGE`.
    async fn xrange(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>>;

    /// `XLEN key`.
    async fn xlen(&self, key: &str) -> StoreResult<u64>;

    /// `XTRIM key MAXLEN [~] n`: how many entries were removed.
    async fn xtrim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64>;

    /// `XGROUP CREATE key group start_id MKSTREAM`: whether the group was
    /// created (`false` when it existed: `BUSYGROUP` is not an error).
    async fn xgroup_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool>;

    /// `XGROUP DELCONSUMER key group consumer`: how many pending entries the
    /// consumer had (they are no longer pending).
    async fn xgroup_delconsumer(&self, key: &str, group: &str, consumer: &str) -> StoreResult<u64>;

    /// `XREADGROUP ... STREAMS key >`: new entries for the consumer, now
    /// pending. A blocking read must not hold up other operations (Redis:
    /// a connection of its own). A missing group fails with
    /// `STORE_STREAM_GROUP_NOT_FOUND`.
    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>>;

    /// `XACK key group ids...`: how many were pending.
    async fn xack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64>;

    /// `XPENDING key group`.
    async fn xpending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary>;

    /// `XPENDING key group start end count [consumer]`.
    async fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>>;

    /// `XAUTOCLAIM key group consumer min_idle start COUNT count`.
    async fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim>;

    /// `XCLAIM key group consumer min_idle ids...`: the pending entries of
    /// `ids` idle for at least `min_idle` become `consumer`'s, delivered now,
    /// their delivery counts incremented; returns them. Ids not pending are
    /// skipped; ids pending but no longer in the stream are dropped from the
    /// pending list and not returned (Redis 7). A missing key or group fails
    /// with `STORE_STREAM_GROUP_NOT_FOUND`; an id that is not `<ms>-<seq>`
    /// with `STORE_STREAM_ID_INVALID`, before anything changes. No ids: no
    /// entries, without I/O.
    async fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>>;

    /// `XINFO GROUPS key`, in name order; empty when the key does not exist
    /// (where Redis answers `no such key`).
    async fn xinfo_groups(&self, key: &str) -> StoreResult<Vec<GroupInfo>>;

    /// `XINFO CONSUMERS key group`, in name order; empty when the key or the
    /// group does not exist (where Redis answers an error).
    async fn xinfo_consumers(&self, key: &str, group: &str) -> StoreResult<Vec<ConsumerInfo>>;

    /// `XDEL key ids...`: how many of the entries existed (0 for no ids,
    /// without I/O). Pending entries stay pending (as in Redis).
    async fn xdel(&self, key: &str, ids: &[String]) -> StoreResult<u64>;

    /// Moves the entry `id` (`<ms>-<seq>`) of the stream `from` to the end of
    /// the stream `to`, in one atomic step: `XRANGE from id id`, `XADD to *`
    /// with its fields, `XDEL from id`. Returns the new id, or `None` when
    /// `from` holds no such entry (so a repeated move never doubles it). A
    /// backend that cannot do it atomically for these two keys refuses, and
    /// changes nothing (Redis Cluster, keys in two slots:
    /// `STORE_STREAM_CROSS_SLOT`).
    async fn xmove(&self, from: &str, id: &str, to: &str) -> StoreResult<Option<String>>;

    /// Closes the adapter; operations after it fail with
    /// [`ErrorCode::NotConnected`](crate::ErrorCode::NotConnected).
    async fn close(&self) -> StoreResult<()>;
}

#[async_trait]
impl<T: StoreAdapter> DynStoreAdapter for T {
    fn name(&self) -> &'static str {
        StoreAdapter::name(self)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        StoreAdapter::get(self, key).await
    }

    async fn set(&self, key: &str, value: Bytes, options: SetOptions) -> StoreResult<bool> {
        StoreAdapter::set(self, key, value, options).await
    }

    async fn del(&self, keys: &[Bytes]) -> StoreResult<u64> {
        StoreAdapter::del(self, keys).await
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        StoreAdapter::exists(self, key).await
    }

    async fn pexpire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        StoreAdapter::pexpire(self, key, ttl).await
    }

    async fn pttl(&self, key: &str) -> StoreResult<KeyTtl> {
        StoreAdapter::pttl(self, key).await
    }

    async fn persist(&self, key: &str) -> StoreResult<bool> {
        StoreAdapter::persist(self, key).await
    }

    async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> StoreResult<i64> {
        StoreAdapter::incr_by(self, key, delta, ttl_if_created).await
    }

    async fn mget(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        StoreAdapter::mget(self, keys).await
    }

    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()> {
        StoreAdapter::mset(self, entries).await
    }

    async fn claim_acquire(
        &self,
        key: &str,
        fence_key: &str,
        nonce: &str,
        ttl: Duration,
    ) -> StoreResult<Option<u64>> {
        StoreAdapter::claim_acquire(self, key, fence_key, nonce, ttl).await
    }

    async fn compare_and_delete(&self, key: &str, expected: &[u8]) -> StoreResult<bool> {
        StoreAdapter::compare_and_delete(self, key, expected).await
    }

    async fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        StoreAdapter::compare_and_expire(self, key, expected, ttl).await
    }

    async fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply> {
        StoreAdapter::scan(self, cursor, pattern, count).await
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> StoreResult<u64> {
        StoreAdapter::publish(self, channel, payload).await
    }

    async fn subscribe(&self, kind: TopicKind, topic: &str) -> StoreResult<RawSubscription> {
        StoreAdapter::subscribe(self, kind, topic).await
    }

    fn active_subscriptions(&self) -> (usize, usize) {
        StoreAdapter::active_subscriptions(self)
    }

    async fn unlink(&self, keys: &[Bytes]) -> StoreResult<u64> {
        StoreAdapter::unlink(self, keys).await
    }

    async fn xadd(
        &self,
        key: &str,
        payload: Bytes,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        StoreAdapter::xadd(self, key, payload, max_len).await
    }

    async fn xrange(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>> {
        StoreAdapter::xrange(self, key, query).await
    }

    async fn xlen(&self, key: &str) -> StoreResult<u64> {
        StoreAdapter::xlen(self, key).await
    }

    async fn xtrim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64> {
        StoreAdapter::xtrim(self, key, max_len).await
    }

    async fn xgroup_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool> {
        StoreAdapter::xgroup_create(self, key, group, start_id).await
    }

    async fn xgroup_delconsumer(&self, key: &str, group: &str, consumer: &str) -> StoreResult<u64> {
        StoreAdapter::xgroup_delconsumer(self, key, group, consumer).await
    }

    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>> {
        StoreAdapter::xreadgroup(self, key, read).await
    }

    async fn xack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64> {
        StoreAdapter::xack(self, key, group, ids).await
    }

    async fn xpending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary> {
        StoreAdapter::xpending_summary(self, key, group).await
    }

    async fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>> {
        StoreAdapter::xpending(self, key, group, query, consumer).await
    }

    async fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim> {
        StoreAdapter::xautoclaim(self, key, read, min_idle, start).await
    }

    async fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>> {
        StoreAdapter::xclaim(self, key, read, min_idle, ids).await
    }

    async fn xinfo_groups(&self, key: &str) -> StoreResult<Vec<GroupInfo>> {
        StoreAdapter::xinfo_groups(self, key).await
    }

    async fn xinfo_consumers(&self, key: &str, group: &str) -> StoreResult<Vec<ConsumerInfo>> {
        StoreAdapter::xinfo_consumers(self, key, group).await
    }

    async fn xdel(&self, key: &str, ids: &[String]) -> StoreResult<u64> {
        StoreAdapter::xdel(self, key, ids).await
    }

    async fn xmove(&self, from: &str, id: &str, to: &str) -> StoreResult<Option<String>> {
        StoreAdapter::xmove(self, from, id, to).await
    }

    async fn close(&self) -> StoreResult<()> {
        StoreAdapter::close(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_redis() {
        for (s, v) in [("0", Some(0)), ("-1", Some(-1)), ("42", Some(42))] {
            assert_eq!(parse_redis_integer(s.as_bytes()), v);
        }
        for s in [
            "",
            "-",
            "-0",
            "+1",
            "01",
            " 1",
            "1 ",
            "1.0",
            "abc",
            "9223372036854775808",
        ] {
            assert_eq!(parse_redis_integer(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_redis_integer(b"-9223372036854775808"), Some(i64::MIN));
    }
}
