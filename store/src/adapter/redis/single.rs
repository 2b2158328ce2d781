//! One Redis server: the [`Single`] topology, [`RedisAdapter`] and its
//! builder. Only what differs from a cluster is here: how to connect, and
//! the blocking connections (multiplexed connections of the same client).

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisError};

use super::pubsub::{self, PubSub};
use super::{DEFAULT_CONNECTION_TIMEOUT, Redis, Topology, map_error, sealed};
use crate::adapter::Backend;
use crate::adapter::pubsub::DEFAULT_SUBSCRIBER_CAPACITY;
use crate::error::{ErrorCode, StoreError, StoreResult};

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
/// - [`StoreAdapter::close`](crate::StoreAdapter::close) ends every
///   subscription and drops the connections; so does dropping the last clone
///   of the adapter and of the stores using it. No task outlives them.
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
pub type RedisAdapter = Redis<Single>;

/// The [`Topology`] of one Redis server: what [`RedisAdapter`] holds beyond
/// what every Redis adapter holds (the client, and the connection timeout for
/// the blocking connections it opens).
pub struct Single {
    client: Client,
    connection_timeout: Duration,
    /// `host:port` (or the socket path), for messages.
    address: String,
}

impl fmt::Debug for Single {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Single")
            .field("connection_timeout", &self.connection_timeout)
            .finish_non_exhaustive()
    }
}

impl sealed::Sealed for Single {}

impl Topology for Single {
    type Connection = ConnectionManager;
    type Blocking = MultiplexedConnection;
    const NAME: &'static str = "redis";
    const TYPE_NAME: &'static str = "RedisAdapter";
    const CLOSED: &'static str = "the Redis adapter is closed";

    fn address(&self) -> &str {
        &self.address
    }

    fn into_backend(adapter: Redis<Self>) -> Backend {
        Backend::Redis(adapter)
    }

    async fn connect_blocking(&self) -> StoreResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connection_timeout))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(map_error)
    }
}

/// Options of a [`RedisAdapter`]; from [`RedisAdapter::builder`].
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisAdapterBuilder {
    target: StoreResult<redis::ConnectionInfo>,
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
                let info = self.target?;
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
        let address = client.get_connection_info().addr().to_string();
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| super::connect_error(&address, e))?;
        let (pubsub_client, timeout) = (client.clone(), self.connection_timeout);
        let pubsub = PubSub::start(self.subscriber_capacity, move |sink| {
            pubsub::pubsub_connection(pubsub_client.clone(), sink, timeout)
        });
        let topology = Single {
            client,
            connection_timeout: self.connection_timeout,
            address,
        };
        Ok(Redis::start(topology, commands, pubsub))
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
            target: super::parse_url(url),
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
        &self.topology().client
    }

    /// The command connection, to run a command the store does not wrap
    /// (see the store's `key` methods for the exact keys); `None` once the
    /// adapter is closed.
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.open().ok()
    }
}
