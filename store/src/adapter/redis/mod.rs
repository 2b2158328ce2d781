//! [`RedisAdapter`]: the store on one Redis server (feature `redis`).

use crate::adapter::Backend;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, IntoConnectionInfo, RedisError, ServerErrorKind};

use super::pubsub::{DEFAULT_SUBSCRIBER_CAPACITY, TopicKind};
use super::{
    AutoClaim, GroupRead, KeyTtl, MaxLen, MsetEntry, PendingEntry, PendingSummary, RangeQuery,
    RawEntry, RawSubscription, ScanCursor, ScanReply, SetOptions, StoreAdapter,
};
use crate::error::{ErrorCode, StoreError, StoreResult};

pub(crate) mod blocking;
pub(crate) mod commands;
pub(crate) mod pubsub;
pub(crate) mod streams;

use blocking::BlockingPool;
use pubsub::PubSub;

/// Idle connections kept for the next blocking stream reads.
pub(crate) const IDLE_BLOCKING_CONNECTIONS: usize = 8;

/// The default time to connect to Redis.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The time a node has to answer one command: the default of the cluster
/// adapter and of the pub/sub connections (the single-server adapter leaves
/// commands to the store's deadline).
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The store on one Redis server, through the `redis` crate.
///
/// - Commands go through one [`ConnectionManager`]: a multiplexed,
///   auto-pipelined connection that reconnects by itself, with TCP_NODELAY.
/// - Pub/sub runs on a connection of its own (RESP3 pushes, automatic
///   resubscription after a reconnect), so a flood of messages never delays
///   commands. Each channel and pattern is subscribed once per adapter and
///   shared by every local subscriber; the last one to go unsubscribes.
/// - Rate-limiter increments and claims are single Lua scripts (`EVALSHA`,
///   falling back to `EVAL`); `batch.set` is one `MULTI`/`EXEC`.
/// - [`StoreAdapter::close`] ends every subscription and drops the
///   connections; so does dropping the last clone of the adapter and of the
///   stores using it. No task outlives them.
///
/// ```no_run
/// use igniter_store::{RedisAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder()
///     .adapter(RedisAdapter::connect("redis://127.0.0.1:6379/").await?)
///     .service("api")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// `None` once closed, so that `close` drops the connection at once.
    commands: RwLock<Option<ConnectionManager>>,
    /// Connections for blocking stream reads.
    blocking: BlockingPool<redis::aio::MultiplexedConnection>,
    connection_timeout: Duration,
    pubsub: PubSub,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("pubsub", &self.inner.pubsub)
            .finish_non_exhaustive()
    }
}

/// Options of a [`RedisAdapter`]; from [`RedisAdapter::builder`].
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisAdapterBuilder {
    target: Result<redis::ConnectionInfo, RedisError>,
    client: Option<Client>,
    connection_timeout: Duration,
    response_timeout: Option<Duration>,
    subscriber_capacity: usize,
    #[cfg(feature = "tls")]
    root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for RedisAdapterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapterBuilder")
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("subscriber_capacity", &self.subscriber_capacity)
            .finish_non_exhaustive()
    }
}

impl RedisAdapterBuilder {
    /// How long connecting may take (default [`DEFAULT_CONNECTION_TIMEOUT`]).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long Redis has to answer one command on the connection itself.
    /// `None` by default: the store's deadline (`StoreBuilder::timeout`)
    /// already bounds every operation, and a second timer per command costs
    /// a few percent. Set one when the store runs with `no_timeout()`.
    pub fn response_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many messages a local subscriber may fall behind before it is told
    /// it lost some (default 1024).
    pub fn subscriber_capacity(mut self, capacity: usize) -> Self {
        self.subscriber_capacity = capacity;
        self
    }

    /// Trusts this PEM root certificate for `rediss://` URLs instead of the
    /// system's roots (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// Connects. Fails with `STORE_CONNECTION_FAILED` when Redis cannot be
    /// reached or refuses the credentials, and `STORE_CONFIGURATION_INVALID`
    /// for a malformed URL.
    pub async fn connect(self) -> StoreResult<RedisAdapter> {
        let client = match self.client {
            Some(client) => client,
            None => {
                let info = self.target.map_err(|e| {
                    StoreError::new(
                        ErrorCode::ConfigurationInvalid,
                        "the Redis URL is not valid",
                    )
                    .with_source(e)
                })?;
                let tcp = info.tcp_settings().clone().set_nodelay(true);
                let info = info.set_tcp_settings(tcp);
                open_client(
                    info,
                    #[cfg(feature = "tls")]
                    self.root_certificate,
                )?
            }
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connection_timeout))
            .set_response_timeout(self.response_timeout)
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(map_error)?;
        let (pubsub_client, timeout) = (client.clone(), self.connection_timeout);
        let pubsub = PubSub::start(self.subscriber_capacity, move |sink| {
            pubsub::pubsub_connection(pubsub_client.clone(), sink, timeout)
        });
        Ok(RedisAdapter {
            inner: Arc::new(Inner {
                client,
                commands: RwLock::new(Some(commands)),
                blocking: BlockingPool::new(IDLE_BLOCKING_CONNECTIONS),
                connection_timeout: self.connection_timeout,
                pubsub,
            }),
        })
    }
}

fn open_client(
    info: redis::ConnectionInfo,
    #[cfg(feature = "tls")] root_certificate: Option<Vec<u8>>,
) -> StoreResult<Client> {
    let invalid = |e: RedisError| {
        StoreError::new(
            ErrorCode::ConfigurationInvalid,
            "the Redis connection settings are not valid",
        )
        .with_source(e)
    };
    #[cfg(feature = "tls")]
    if let Some(root_cert) = root_certificate {
        let certs = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        };
        return Client::build_with_tls(info, certs).map_err(invalid);
    }
    Client::open(info).map_err(invalid)
}

impl RedisAdapter {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`, or
    /// `rediss://` with the `tls` feature) with the default options.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::builder(url).connect().await
    }

    /// Options for a connection to `url`.
    pub fn builder(url: &str) -> RedisAdapterBuilder {
        RedisAdapterBuilder {
            target: url.into_connection_info(),
            client: None,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            // The store's deadline bounds every command; a second timer per
            // command in the connection would only cost (BENCHMARKS.md).
            response_timeout: None,
            subscriber_capacity: DEFAULT_SUBSCRIBER_CAPACITY,
            #[cfg(feature = "tls")]
            root_certificate: None,
        }
    }

    /// Options for a connection through an existing `redis::Client`. The
    /// client's own connection settings are kept as they are (TCP_NODELAY
    /// included, which `connect` and `builder` turn on for URLs).
    pub fn from_client(client: Client) -> RedisAdapterBuilder {
        let mut builder = Self::builder("redis://127.0.0.1/");
        builder.client = Some(client);
        builder
    }

    /// The `redis` client, to open connections of your own.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The command connection, to run a command the store does not wrap
    /// (see the store's `key` methods for the exact keys); `None` once the
    /// adapter is closed.
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.open().ok()
    }

    pub(crate) fn open(&self) -> StoreResult<ConnectionManager> {
        self.inner
            .commands
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| StoreError::new(ErrorCode::NotConnected, "the Redis adapter is closed"))
    }
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

fn detail_has(e: &RedisError, needle: &str) -> bool {
    e.detail().is_some_and(|d| d.contains(needle)) || e.to_string().contains(needle)
}

#[async_trait]
impl StoreAdapter for RedisAdapter {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn dispatch(&self, _: Arc<dyn StoreAdapter>) -> Backend {
        Backend::Redis(self.clone())
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
        commands::delete(&mut self.open()?, "DEL", keys).await
    }

    async fn unlink(&self, keys: &[Bytes]) -> StoreResult<u64> {
        commands::delete(&mut self.open()?, "UNLINK", keys).await
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
        commands::mget(&mut self.open()?, keys).await
    }

    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()> {
        commands::mset(&mut self.open()?, &entries).await
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
        let (next, keys) =
            commands::scan(&mut self.open()?, cursor.as_str(), pattern, count).await?;
        Ok(ScanReply {
            cursor: ScanCursor::from_string(next),
            keys: keys.into_iter().map(Bytes::from).collect(),
        })
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

    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>> {
        self.read_group(key, read).await
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
