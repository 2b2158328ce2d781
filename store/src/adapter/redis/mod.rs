//! The Redis adapters, one implementation for both topologies (feature
//! `redis`; Redis Cluster with `cluster`).
//!
//! The design: one generic adapter, [`Redis<T>`], holds what both topologies
//! have (the command connection, the pool of blocking connections, the
//! pub/sub worker, the closed state) and implements [`StoreAdapter`] once.
//! [`RedisAdapter`] is `Redis<Single>` and
//! [`RedisClusterAdapter`](crate::RedisClusterAdapter) is `Redis<Cluster>`:
//! two types, as before, with their own builders, clients and connections.
//! The [`Topology`] type parameter says only what differs, and is sealed:
//!
//! - the connection types, the adapter's name, and its [`Backend`] variant;
//! - how a blocking connection is opened;
//! - the multi-key and keyspace-wide commands, which a cluster splits by slot
//!   (`MGET`, `MSET`, `DEL`/`UNLINK`), refuses across slots (the move of a
//!   stream entry) or runs on every primary (`SCAN`). The
//!   single-server versions are the trait's defaults, so [`Single`] says
//!   nothing but its types and its blocking connections.
//!
//! Every command is written once, in `commands.rs` and `streams.rs`, over
//! any `redis` connection; the store's own direct path runs the same
//! functions over `connection::Connection`, the enum of both command
//! connections. One pool of blocking connections (`blocking.rs`) serves
//! both topologies.
//!
//! A generic type rather than a macro emitting two impls, or an enum of
//! topologies inside one type: the compiler checks the one body against both
//! topologies, each adapter keeps its own typed `client()` and
//! `connection()`, and `Backend` still tells the two apart by type, without a
//! runtime match on the topology in every command.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionLike;
use redis::{ErrorKind, RedisError, ServerErrorKind};

use super::pubsub::TopicKind;
use super::{
    AutoClaim, ConsumerInfo, GroupInfo, GroupRead, KeyTtl, MaxLen, MsetEntry, PendingEntry,
    PendingSummary, RangeQuery, RawEntry, RawSubscription, ScanCursor, ScanReply, SetOptions,
    StoreAdapter,
};
use crate::adapter::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};

pub(crate) mod blocking;
pub(crate) mod commands;
pub(crate) mod connection;
pub(crate) mod pubsub;
mod single;
pub(crate) mod stream_admin;
pub(crate) mod streams;

use blocking::BlockingPool;
use pubsub::PubSub;
pub use single::{RedisAdapter, RedisAdapterBuilder, Single};

/// Idle connections kept for the next blocking stream reads.
pub(crate) const IDLE_BLOCKING_CONNECTIONS: usize = 8;

/// The default time to connect to Redis.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The time a node has to answer one command: the default of the cluster
/// adapter and of the pub/sub connections (the single-server adapter leaves
/// commands to the store's deadline).
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The store on Redis, on the topology `T`: one implementation of
/// [`StoreAdapter`] for one server and for a cluster. Use its aliases,
/// [`RedisAdapter`] (`Redis<Single>`) and
/// [`RedisClusterAdapter`](crate::RedisClusterAdapter) (`Redis<Cluster>`).
///
/// A clone shares the connections; [`StoreAdapter::close`] ends every
/// subscription and blocked read and drops the connections, and so does
/// dropping the last clone of the adapter and of the stores using it.
pub struct Redis<T: Topology> {
    inner: Arc<Inner<T>>,
}

/// The topology of a [`Redis`] adapter: [`Single`] or
/// [`Cluster`](crate::adapter::cluster::Cluster). Sealed, and what it does is
/// hidden: the crate's own business. The defaults are the single server's.
pub trait Topology: sealed::Sealed + Sized + Send + Sync + 'static {
    /// The shared command connection.
    #[doc(hidden)]
    type Connection: ConnectionLike + Clone + Send + Sync + 'static;
    /// A connection of the blocking pool.
    #[doc(hidden)]
    type Blocking: ConnectionLike + Send + Sync + 'static;
    /// [`StoreAdapter::name`].
    #[doc(hidden)]
    const NAME: &'static str;
    /// The adapter's name in `Debug`.
    #[doc(hidden)]
    const TYPE_NAME: &'static str;
    /// The `STORE_NOT_CONNECTED` message once closed.
    #[doc(hidden)]
    const CLOSED: &'static str;

    /// Where the adapter connects, without credentials: `host:port`, or
    /// the seed nodes of a cluster.
    #[doc(hidden)]
    fn address(&self) -> &str;

    /// [`StoreAdapter::into_backend`]: the adapter's own [`Backend`] variant.
    #[doc(hidden)]
    fn into_backend(adapter: Redis<Self>) -> Backend;

    /// A new connection for blocking reads: one that may wait as long as
    /// a read blocks.
    #[doc(hidden)]
    fn connect_blocking(&self) -> impl Future<Output = StoreResult<Self::Blocking>> + Send;

    /// `MGET` of `keys`, in order.
    #[doc(hidden)]
    fn mget(
        adapter: &Redis<Self>,
        keys: &[String],
    ) -> impl Future<Output = StoreResult<Vec<Option<Bytes>>>> + Send {
        async move { commands::mget(&mut adapter.open()?, keys).await }
    }

    /// `MSET` of `entries`, as one `MULTI`/`EXEC`.
    #[doc(hidden)]
    fn mset(
        adapter: &Redis<Self>,
        entries: Vec<MsetEntry>,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        async move { commands::mset(&mut adapter.open()?, &entries).await }
    }

    /// `DEL` or `UNLINK` (`command`) of `keys`.
    #[doc(hidden)]
    fn delete(
        adapter: &Redis<Self>,
        command: &'static str,
        keys: &[Bytes],
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        async move { commands::delete(&mut adapter.open()?, command, keys).await }
    }

    /// The move of one stream entry from `from` to `to`: one script.
    #[doc(hidden)]
    fn xmove(
        adapter: &Redis<Self>,
        from: &str,
        id: &str,
        to: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send {
        async move { stream_admin::move_entry(&mut adapter.open()?, from, id, to).await }
    }

    /// One step of `SCAN` over the whole keyspace.
    #[doc(hidden)]
    fn scan(
        adapter: &Redis<Self>,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> impl Future<Output = StoreResult<ScanReply>> + Send {
        async move {
            let (next, keys) =
                commands::scan(&mut adapter.open()?, cursor.as_str(), pattern, count).await?;
            Ok(ScanReply {
                cursor: ScanCursor::from_string(next),
                keys: keys.into_iter().map(Bytes::from).collect(),
            })
        }
    }
}

pub(crate) mod sealed {
    /// Keeps [`Topology`](super::Topology) to this crate.
    pub trait Sealed {}
}

struct Inner<T: Topology> {
    /// What only this topology holds.
    topology: T,
    /// `None` once closed, so that `close` drops the connection at once.
    commands: RwLock<Option<T::Connection>>,
    /// Connections for blocking stream reads.
    blocking: BlockingPool<T::Blocking>,
    pubsub: PubSub,
}

impl<T: Topology> Clone for Redis<T> {
    fn clone(&self) -> Self {
        Redis {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Topology> fmt::Debug for Redis<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(T::TYPE_NAME)
            .field("pubsub", &self.inner.pubsub)
            .finish_non_exhaustive()
    }
}

impl<T: Topology> Redis<T> {
    /// An adapter on `commands`, its pub/sub worker started.
    pub(crate) fn start(topology: T, commands: T::Connection, pubsub: PubSub) -> Self {
        Redis {
            inner: Arc::new(Inner {
                topology,
                commands: RwLock::new(Some(commands)),
                blocking: BlockingPool::new(IDLE_BLOCKING_CONNECTIONS),
                pubsub,
            }),
        }
    }

    /// Where the adapter connects, never with credentials: `host:port` (or
    /// the socket path), or a cluster's seed nodes. Connection failures name
    /// it in their message and in `details.address`.
    pub fn address(&self) -> &str {
        self.inner.topology.address()
    }

    pub(crate) fn topology(&self) -> &T {
        &self.inner.topology
    }

    /// The command connection; `STORE_NOT_CONNECTED` once closed.
    pub(crate) fn open(&self) -> StoreResult<T::Connection> {
        self.inner
            .commands
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| StoreError::new(ErrorCode::NotConnected, T::CLOSED))
    }
}

/// The URL schemes the `redis` crate connects with.
const SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "unix",
    "redis+unix",
    "valkey+unix",
];

/// `url` with its password (and user) replaced by `***`, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let shown = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{shown}"),
        None => shown,
    }
}

/// Parses a Redis URL, with a message that says what is wrong with it
/// (never its password): `STORE_CONFIGURATION_INVALID`, `details.url`.
pub(crate) fn parse_url(url: &str) -> StoreResult<redis::ConnectionInfo> {
    use redis::IntoConnectionInfo;
    let shown = redact_url(url);
    let invalid = |message: String| {
        StoreError::new(ErrorCode::ConfigurationInvalid, message).with_detail("url", shown.as_str())
    };
    match url.split_once("://") {
        None => {
            return Err(invalid(format!(
                "the Redis URL `{shown}` has no scheme: write `redis://{shown}` (`rediss://` for TLS, `unix://` for a socket path)"
            )));
        }
        Some((scheme, _)) if !SCHEMES.contains(&scheme) => {
            return Err(invalid(format!(
                "the Redis URL `{shown}` has the scheme `{scheme}`; expected one of {}",
                SCHEMES.join(", ")
            )));
        }
        Some(_) => {}
    }
    url.into_connection_info().map_err(|e| {
        let reason = e
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string());
        invalid(format!("the Redis URL `{shown}` is not valid: {reason}")).with_source(e)
    })
}

/// A failure to connect to `address`: `STORE_CONNECTION_FAILED` (or what
/// [`map_error`] makes of `e`), with the address (never credentials) in the
/// message and in `details.address`.
pub(crate) fn connect_error(address: &str, e: RedisError) -> StoreError {
    at_address(map_error(e), address)
}

/// Adds where a connection failure happened to `e`.
pub(crate) fn at_address(e: StoreError, address: &str) -> StoreError {
    if e.code() != ErrorCode::ConnectionFailed
        || e.details().is_some_and(|d| d.contains_key("address"))
    {
        return e;
    }
    let message = match e.message() {
        "the connection to Redis failed" => format!("the connection to Redis at {address} failed"),
        other => format!("{other} (Redis at {address})"),
    };
    e.with_message(message).with_detail("address", address)
}

/// Maps a `redis` error to the store's codes. The message is generic (Redis
/// error texts may quote arguments); the error itself is kept as the source.
pub(crate) fn map_error(e: RedisError) -> StoreError {
    let (code, message) = if e.is_timeout() {
        (ErrorCode::Timeout, "Redis did not answer in time")
    } else if loading(&e)
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed | ErrorKind::Server(ServerErrorKind::BusyLoading)
        )
    {
        (
            ErrorCode::ConnectionFailed,
            "the connection to Redis failed",
        )
    } else if e.code() == Some("NOGROUP")
        || detail_has(&e, "NOGROUP")
        || detail_has(&e, "requires the key to exist")
        // A blocked read whose stream was deleted: its groups went with it.
        || (e.code() == Some("UNBLOCKED") && detail_has(&e, "no longer exists"))
    {
        (
            ErrorCode::StreamGroupNotFound,
            "the consumer group does not exist",
        )
    } else if detail_has(&e, "Invalid stream ID") || detail_has(&e, "ID for the interval") {
        (ErrorCode::StreamIdInvalid, "a stream id is not valid")
    } else if e.code() == Some("WRONGTYPE") || detail_has(&e, "WRONGTYPE") {
        (
            ErrorCode::WrongType,
            "the key holds a value of another type",
        )
    } else if detail_has(&e, "not an integer") {
        (
            ErrorCode::ValueNotInteger,
            "the value at the key is not an integer or out of range",
        )
    } else if detail_has(&e, "overflow") {
        (
            ErrorCode::CounterOverflow,
            "increment or decrement would overflow",
        )
    } else {
        (ErrorCode::OperationFailed, "Redis refused the command")
    };
    StoreError::new(code, message).with_source(e)
}

/// Redis is loading its data (`LOADING`), also when it aborted a
/// transaction for that reason: the server is not available yet.
fn loading(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::BusyLoading)
        || e.clone().into_server_errors().is_some_and(|errors| {
            errors
                .iter()
                .any(|(_, inner)| inner.kind() == Some(ServerErrorKind::BusyLoading))
        })
}

/// Whether Redis's error says `needle`, in its detail or its whole text.
pub(super) fn detail_has(e: &RedisError, needle: &str) -> bool {
    e.detail().is_some_and(|d| d.contains(needle)) || e.to_string().contains(needle)
}

impl<T: Topology> StoreAdapter for Redis<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn into_backend(self) -> Backend {
        T::into_backend(self)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        Ok(commands::get(&mut self.open()?, key)
            .await?
            .map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, options: SetOptions) -> StoreResult<bool> {
        commands::set(&mut self.open()?, key, &value, options).await
    }

    async fn del(&self, keys: &[Bytes]) -> StoreResult<u64> {
        T::delete(self, "DEL", keys).await
    }

    async fn unlink(&self, keys: &[Bytes]) -> StoreResult<u64> {
        T::delete(self, "UNLINK", keys).await
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        commands::exists(&mut self.open()?, key).await
    }

    async fn pexpire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        commands::pexpire(&mut self.open()?, key, ttl).await
    }

    async fn pttl(&self, key: &str) -> StoreResult<KeyTtl> {
        commands::pttl(&mut self.open()?, key).await
    }

    async fn persist(&self, key: &str) -> StoreResult<bool> {
        commands::persist(&mut self.open()?, key).await
    }

    async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> StoreResult<i64> {
        commands::incr_by(&mut self.open()?, key, delta, ttl_if_created).await
    }

    async fn mget(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        T::mget(self, keys).await
    }

    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()> {
        T::mset(self, entries).await
    }

    async fn claim_acquire(
        &self,
        key: &str,
        fence_key: &str,
        nonce: &str,
        ttl: Duration,
    ) -> StoreResult<Option<u64>> {
        commands::claim_acquire(&mut self.open()?, key, fence_key, nonce, ttl).await
    }

    async fn compare_and_delete(&self, key: &str, expected: &[u8]) -> StoreResult<bool> {
        commands::compare_and_delete(&mut self.open()?, key, expected).await
    }

    async fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        commands::compare_and_expire(&mut self.open()?, key, expected, ttl).await
    }

    async fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply> {
        T::scan(self, cursor, pattern, count).await
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> StoreResult<u64> {
        commands::publish(&mut self.open()?, channel, &payload).await
    }

    async fn subscribe(&self, kind: TopicKind, topic: &str) -> StoreResult<RawSubscription> {
        self.open()?;
        self.inner.pubsub.subscribe(kind, topic).await
    }

    fn active_subscriptions(&self) -> (usize, usize) {
        self.inner.pubsub.active()
    }

    async fn xadd(
        &self,
        key: &str,
        payload: Bytes,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        streams::xadd(&mut self.open()?, key, &payload, max_len).await
    }

    async fn xrange(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>> {
        streams::xrange(&mut self.open()?, key, query).await
    }

    async fn xlen(&self, key: &str) -> StoreResult<u64> {
        streams::xlen(&mut self.open()?, key).await
    }

    async fn xtrim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64> {
        streams::xtrim(&mut self.open()?, key, max_len).await
    }

    async fn xgroup_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool> {
        streams::group_create(&mut self.open()?, key, group, start_id).await
    }

    async fn xgroup_delconsumer(&self, key: &str, group: &str, consumer: &str) -> StoreResult<u64> {
        streams::delconsumer(&mut self.open()?, key, group, consumer).await
    }

    /// A non-blocking read runs on the shared connection; a blocking one on
    /// a pooled connection of its own, which it holds for the whole block.
    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>> {
        if read.block.is_none() {
            return streams::readgroup(&mut self.open()?, key, read).await;
        }
        self.open()?;
        let topology = &self.inner.topology;
        self.inner
            .blocking
            .run(
                || topology.connect_blocking(),
                |mut con: T::Blocking| async move {
                    let result = streams::readgroup(&mut con, key, read).await;
                    (con, result)
                },
            )
            .await
    }

    async fn xack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64> {
        streams::ack(&mut self.open()?, key, group, ids).await
    }

    async fn xpending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary> {
        streams::pending_summary(&mut self.open()?, key, group).await
    }

    async fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>> {
        streams::pending(&mut self.open()?, key, group, query, consumer).await
    }

    async fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim> {
        streams::autoclaim(&mut self.open()?, key, read, min_idle, start).await
    }

    async fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>> {
        stream_admin::claim(&mut self.open()?, key, read, min_idle, ids).await
    }

    async fn xinfo_groups(&self, key: &str) -> StoreResult<Vec<GroupInfo>> {
        stream_admin::info_groups(&mut self.open()?, key).await
    }

    async fn xinfo_consumers(&self, key: &str, group: &str) -> StoreResult<Vec<ConsumerInfo>> {
        stream_admin::info_consumers(&mut self.open()?, key, group).await
    }

    async fn xdel(&self, key: &str, ids: &[String]) -> StoreResult<u64> {
        stream_admin::del(&mut self.open()?, key, ids).await
    }

    async fn xmove(&self, from: &str, id: &str, to: &str) -> StoreResult<Option<String>> {
        T::xmove(self, from, id, to).await
    }

    async fn close(&self) -> StoreResult<()> {
        self.inner
            .commands
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.inner.blocking.close();
        self.inner.pubsub.close();
        Ok(())
    }
}
