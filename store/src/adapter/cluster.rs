//! [`RedisClusterAdapter`]: the store on Redis Cluster (feature `cluster`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::io::tcp::TcpSettings;
use redis::{ProtocolVersion, PushInfo, Value};

use super::pubsub::DEFAULT_SUBSCRIBER_CAPACITY;
use super::redis::pubsub::{PubSub, PushSink, deliver};
use super::redis::{
    DEFAULT_CONNECTION_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, Redis, Topology, commands, map_error,
    sealed,
};
use super::{MsetEntry, ScanCursor, ScanReply};
use crate::adapter::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::glob;

/// The store on Redis Cluster, through the `redis` crate's `cluster-async`.
///
/// Every operation works as on one server but one (a stream entry's move
/// across slots, refused), and no `CROSSSLOT` error ever reaches the caller:
///
/// - single-key commands and scripts go to the key's slot (a claim's fencing
///   key shares the claim key's slot through its hash tag);
/// - `batch.get` and multi-key deletes are split by slot and the answers put
///   back in order;
/// - `batch.set` is one `MULTI`/`EXEC` per slot: atomic within a slot, and
///   across slots either fully applied or failed with `STORE_BATCH_PARTIAL`,
///   whose details list the keys `written`, `notWritten`, and `unknown` (in
///   the slot whose node timed out or dropped the connection: its transaction
///   may or may not have been applied); it stops at the first failing slot;
/// - moving a stream entry (`Streams::move_entry`) is one script when both
///   streams are in one slot, and refused with `STORE_STREAM_CROSS_SLOT`
///   otherwise (nothing moves): a scope hash tag keeps them in one slot;
/// - `dev.scan` and `purge` run SCAN on every primary in turn (the cursor
///   names the primary), so every key is returned at least once; a pattern
///   whose literal start holds a whole hash tag (every key below a scope
///   with [`scope_hash_tag`](crate::StoreBuilder::scope_hash_tag)) is
///   answered from its one slot instead (`CLUSTER GETKEYSINSLOT` on the
///   slot's primary, filtered by the pattern, in one page), so that `purge`
///   and `scan_all` of a tenant cost what the tenant's slot holds, not what
///   the whole keyspace holds (while the slot is being resharded, keys
///   already moved to its new primary are not seen: purge again after);
/// - pub/sub runs on a connection of its own (RESP3), resubscribed by the
///   `redis` crate after a failover or a node restart;
/// - blocking stream reads run on cluster connections of their own, which
///   follow `MOVED` after a failover.
///
/// With the store builder's [`scope_hash_tag`](crate::StoreBuilder::scope_hash_tag),
/// every key of one tenant lands in one slot, so its batches are atomic.
///
/// ```no_run
/// use igniter_store::{RedisClusterAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let adapter = RedisClusterAdapter::connect([
///     "redis://127.0.0.1:7000/",
///     "redis://127.0.0.1:7001/",
///     "redis://127.0.0.1:7002/",
/// ])
/// .await?;
/// let store = Store::builder().adapter(adapter).service("api").build()?;
/// # Ok(()) }
/// ```
pub type RedisClusterAdapter = Redis<Cluster>;

/// The [`Topology`] of a Redis Cluster: what [`RedisClusterAdapter`] holds
/// beyond what every Redis adapter holds (its clients), and the commands a
/// cluster runs differently (split by slot, or on every primary).
pub struct Cluster {
    client: ClusterClient,
    /// A client whose connections may block as long as a stream read asks.
    blocking_client: ClusterClient,
    /// The seed nodes, without credentials, for messages.
    address: String,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

/// Options of a [`RedisClusterAdapter`]; from [`RedisClusterAdapter::builder`].
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisClusterAdapterBuilder {
    nodes: Vec<String>,
    connection_timeout: Duration,
    response_timeout: Duration,
    subscriber_capacity: usize,
    #[cfg(feature = "tls")]
    root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for RedisClusterAdapterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClusterAdapterBuilder")
            .field("nodes", &self.nodes.len())
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisClusterAdapterBuilder {
    /// How long connecting to a node may take.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long a node has to answer one command.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many messages a local subscriber may fall behind before it is told
    /// it lost some (default 1024).
    pub fn subscriber_capacity(mut self, capacity: usize) -> Self {
        self.subscriber_capacity = capacity;
        self
    }

    /// Trusts this PEM root certificate for `rediss://` nodes (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    fn client(
        &self,
        response_timeout: Duration,
        push: Option<PushSink>,
    ) -> StoreResult<ClusterClient> {
        let mut builder = ClusterClientBuilder::new(self.nodes.clone())
            .connection_timeout(self.connection_timeout)
            .response_timeout(response_timeout)
            .tcp_settings(TcpSettings::default().set_nodelay(true));
        #[cfg(feature = "tls")]
        if let Some(root_cert) = &self.root_certificate {
            builder = builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert.clone()),
            });
        }
        if let Some(sink) = push {
            builder =
                builder
                    .use_protocol(ProtocolVersion::RESP3)
                    .push_sender(move |push: PushInfo| {
                        deliver(&sink, push);
                        Ok::<(), redis::aio::SendError>(())
                    });
        }
        builder.build().map_err(|e| {
            StoreError::new(
                ErrorCode::ConfigurationInvalid,
                "the Redis Cluster settings are not valid",
            )
            .with_source(e)
        })
    }

    /// Connects to the cluster through its seed nodes. Fails with
    /// `STORE_CONNECTION_FAILED` when no seed answers.
    pub async fn connect(self) -> StoreResult<RedisClusterAdapter> {
        if self.nodes.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ConfigurationInvalid,
                "a Redis Cluster needs at least one seed node",
            ));
        }
        let address = self
            .nodes
            .iter()
            .map(|n| crate::adapter::redis::redact_url(n))
            .collect::<Vec<_>>()
            .join(", ");
        let client = self.client(self.response_timeout, None)?;
        let commands = client
            .get_async_connection()
            .await
            .map_err(|e| crate::adapter::redis::connect_error(&address, e))?;
        // Blocking reads are bounded by the store's deadline, extended by their
        // block time; the connection itself waits as long as they ask.
        let blocking_client = self.client(Duration::from_secs(24 * 3600), None)?;
        let options = Arc::new(self);
        let pubsub = PubSub::start(options.subscriber_capacity, move |sink| {
            let options = Arc::clone(&options);
            async move {
                let client = options.client(options.response_timeout, Some(sink))?;
                client.get_async_connection().await.map_err(map_error)
            }
        });
        let topology = Cluster {
            client,
            blocking_client,
            address,
        };
        Ok(Redis::start(topology, commands, pubsub))
    }
}

impl RedisClusterAdapter {
    /// Connects through the seed nodes `nodes` (`redis://[user:password@]host:port`,
    /// or `rediss://` with the `tls` feature) with the default options.
    pub async fn connect<I, S>(nodes: I) -> StoreResult<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::builder(nodes).connect().await
    }

    /// Options for a connection through the seed nodes `nodes`.
    pub fn builder<I, S>(nodes: I) -> RedisClusterAdapterBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RedisClusterAdapterBuilder {
            nodes: nodes.into_iter().map(|n| n.as_ref().to_owned()).collect(),
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            subscriber_capacity: DEFAULT_SUBSCRIBER_CAPACITY,
            #[cfg(feature = "tls")]
            root_certificate: None,
        }
    }

    /// The `redis` cluster client, to open connections of your own.
    pub fn client(&self) -> &ClusterClient {
        &self.topology().client
    }

    /// The command connection, for commands the store does not wrap;
    /// `None` once closed.
    pub fn connection(&self) -> Option<ClusterConnection> {
        self.open().ok()
    }
}

impl sealed::Sealed for Cluster {}

impl Topology for Cluster {
    type Connection = ClusterConnection;
    type Blocking = ClusterConnection;
    const NAME: &'static str = "redis-cluster";
    const TYPE_NAME: &'static str = "RedisClusterAdapter";
    const CLOSED: &'static str = "the Redis Cluster adapter is closed";

    fn address(&self) -> &str {
        &self.address
    }

    fn into_backend(adapter: Redis<Self>) -> Backend {
        Backend::Cluster(adapter)
    }

    /// A cluster connection of its own, which follows `MOVED` after a
    /// failover.
    async fn connect_blocking(&self) -> StoreResult<ClusterConnection> {
        self.blocking_client
            .get_async_connection()
            .await
            .map_err(map_error)
    }

    /// One `MGET` per slot, concurrently, the answers put back in order.
    async fn mget(adapter: &Redis<Self>, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        let mut values = vec![None; keys.len()];
        let groups = by_slot(keys, |k| k.as_bytes());
        let reads = groups.into_iter().map(|group| {
            let con = adapter.open();
            async move {
                let (positions, keys): (Vec<usize>, Vec<String>) =
                    group.into_iter().map(|(i, k)| (i, k.clone())).unzip();
                let found = commands::mget(&mut con?, &keys).await?;
                Ok::<_, StoreError>(positions.into_iter().zip(found))
            }
        });
        for group in futures::future::try_join_all(reads).await? {
            for (i, value) in group {
                values[i] = value;
            }
        }
        Ok(values)
    }

    /// One `MULTI`/`EXEC` per slot; `STORE_BATCH_PARTIAL` when some slots
    /// were written and others not.
    async fn mset(adapter: &Redis<Self>, entries: Vec<MsetEntry>) -> StoreResult<()> {
        let groups = by_slot(entries, |e| e.key.as_bytes());
        let (mut written, mut unknown, mut not_written) = (Vec::new(), Vec::new(), Vec::new());
        let mut failure: Option<StoreError> = None;
        for group in groups {
            let keys: Vec<String> = group.iter().map(|(_, e)| e.key.clone()).collect();
            if failure.is_some() {
                // Stop at the first failure: write no more slots.
                not_written.extend(keys);
                continue;
            }
            let group: Vec<MsetEntry> = group.into_iter().map(|(_, e)| e).collect();
            match commands::mset(&mut adapter.open()?, &group).await {
                Ok(()) => written.extend(keys),
                Err(e) => {
                    // A timeout or a dropped connection leaves the slot's
                    // transaction possibly applied: say so rather than guess.
                    if matches!(e.code(), ErrorCode::Timeout | ErrorCode::ConnectionFailed) {
                        unknown.extend(keys);
                    } else {
                        not_written.extend(keys);
                    }
                    failure = Some(e);
                }
            }
        }
        match failure {
            None => Ok(()),
            Some(e) if written.is_empty() && unknown.is_empty() => Err(e),
            Some(e) => Err(StoreError::new(
                ErrorCode::BatchPartial,
                "the batch was written in some slots and not in others",
            )
            .with_detail("written", written)
            .with_detail("notWritten", not_written)
            .with_detail("unknown", unknown)
            .with_source(e)),
        }
    }

    /// The move's script when both streams are in one slot; across slots
    /// `STORE_STREAM_CROSS_SLOT`, before any I/O: no script or transaction
    /// spans two slots, and a move in two steps could lose or double the
    /// entry if it stopped between them.
    async fn xmove(
        adapter: &Redis<Self>,
        from: &str,
        id: &str,
        to: &str,
    ) -> StoreResult<Option<String>> {
        if Slot::for_key(from.as_bytes()) != Slot::for_key(to.as_bytes()) {
            return Err(StoreError::new(
                ErrorCode::StreamCrossSlot,
                "the two streams are in different Redis Cluster slots, where an entry \
                 cannot be moved atomically; a scope hash tag keeps a tenant's streams in one slot",
            ));
        }
        super::redis::stream_admin::move_entry(&mut adapter.open()?, from, id, to).await
    }

    /// One `DEL` or `UNLINK` per slot, all sent at once (the connection
    /// pipelines them per node), so a page of keys over a thousand slots
    /// costs a round trip per node, not one per slot.
    async fn delete(
        adapter: &Redis<Self>,
        command: &'static str,
        keys: &[Bytes],
    ) -> StoreResult<u64> {
        let deletes = by_slot(keys, |k| k.as_ref())
            .into_iter()
            .map(|group| async move {
                let keys: Vec<&[u8]> = group.iter().map(|(_, k)| k.as_ref()).collect();
                commands::delete(&mut adapter.open()?, command, &keys).await
            });
        Ok(futures::future::try_join_all(deletes)
            .await?
            .into_iter()
            .sum())
    }

    /// `SCAN` on every primary in turn, in address order; the cursor names
    /// the primary (`host:port/cursor`). A pattern that names one slot is
    /// answered from that slot, in one page.
    async fn scan(
        adapter: &Redis<Self>,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply> {
        if let Some(tagged) = single_slot(pattern) {
            return Cluster::scan_slot(adapter, &tagged, pattern).await;
        }
        let primaries = Cluster::primaries(adapter).await?;
        let (node, node_cursor) = match parse_cursor(cursor)? {
            Some(position) => position,
            None => match primaries.first() {
                Some(first) => (first.clone(), "0".to_owned()),
                None => {
                    return Ok(ScanReply {
                        cursor: ScanCursor::start(),
                        keys: Vec::new(),
                    });
                }
            },
        };
        let cmd = commands::scan_command(&node_cursor, pattern, count);
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: node.0.clone(),
            port: node.1,
        });
        let reply = adapter
            .open()?
            .route_command(cmd, routing)
            .await
            .map_err(map_error)?;
        let (next, keys): (String, Vec<Vec<u8>>) =
            redis::from_redis_value(reply).map_err(|e| map_error(e.into()))?;
        let cursor = if next != "0" {
            ScanCursor::from_string(format!("{}:{}/{next}", node.0, node.1))
        } else {
            // This primary is done: go on with the next one, in address order.
            match primaries.iter().find(|p| **p > node) {
                Some(p) => ScanCursor::from_string(format!("{}:{}/0", p.0, p.1)),
                None => ScanCursor::start(),
            }
        };
        Ok(ScanReply {
            cursor,
            keys: keys.into_iter().map(Bytes::from).collect(),
        })
    }
}

impl Cluster {
    /// The keys matching `pattern` in the slot of `tagged` (a key with its
    /// hash tag), from the slot's primary: `CLUSTER GETKEYSINSLOT`, whose
    /// cost follows what the slot holds (the tenant's keys, and the few of
    /// other tenants that hash to the same slot: about one 16384th of the
    /// keyspace).
    async fn scan_slot(
        adapter: &Redis<Self>,
        tagged: &str,
        pattern: &str,
    ) -> StoreResult<ScanReply> {
        let mut con = adapter.open()?;
        let slot = slot_of(tagged.as_bytes());
        let primary = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
            slot,
            SlotAddr::Master,
        )));
        // No cursor exists for a slot's keys: ask for all of them (Redis
        // answers at most what the slot holds).
        let keys: Vec<Vec<u8>> = con
            .route_command(
                redis::cmd("CLUSTER")
                    .arg("GETKEYSINSLOT")
                    .arg(slot)
                    .arg(i64::MAX)
                    .clone(),
                primary,
            )
            .await
            .and_then(|v| redis::from_redis_value(v).map_err(Into::into))
            .map_err(map_error)?;
        Ok(ScanReply {
            cursor: ScanCursor::start(),
            keys: keys
                .into_iter()
                .filter(|k| glob::matches(pattern.as_bytes(), k))
                .map(Bytes::from)
                .collect(),
        })
    }

    /// The primaries, as `(host, port)`, sorted, from `CLUSTER NODES`.
    async fn primaries(adapter: &RedisClusterAdapter) -> StoreResult<Vec<(String, u16)>> {
        let reply = adapter
            .open()?
            .route_command(
                redis::cmd("CLUSTER").arg("NODES").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await
            .map_err(map_error)?;
        let text = match reply {
            Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            Value::VerbatimString { text, .. } => text,
            Value::SimpleString(s) => s,
            _ => {
                return Err(StoreError::new(
                    ErrorCode::OperationFailed,
                    "CLUSTER NODES answered in an unexpected shape",
                ));
            }
        };
        let mut primaries: Vec<(String, u16)> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let address = fields.nth(1)?;
                let flags = fields.next()?;
                let is_primary = flags.split(',').any(|f| f == "master");
                let failing = flags.split(',').any(|f| f == "fail" || f == "noaddr");
                if !is_primary || failing {
                    return None;
                }
                let (host, port) = address.split('@').next()?.rsplit_once(':')?;
                Some((host.to_owned(), port.parse::<u16>().ok()?))
            })
            .collect();
        primaries.sort();
        primaries.dedup();
        Ok(primaries)
    }
}

/// The literal start of `pattern` when it holds a whole, non-empty hash tag
/// (`{..}`): every key the pattern matches begins with it, so has that tag,
/// so lives in its slot.
fn single_slot(pattern: &str) -> Option<String> {
    let literal = glob::literal_prefix(pattern);
    let open = literal.find('{')?;
    let close = literal[open + 1..].find('}')?;
    (close > 0).then_some(literal)
}

/// The number of the slot of `key` (CRC16-XMODEM of its hash tag, or of the
/// whole key, modulo 16384), which `CLUSTER GETKEYSINSLOT` takes: the
/// `redis` crate computes the slot ([`Slot::for_key`]) but does not expose
/// its number.
fn slot_of(key: &[u8]) -> u16 {
    let tag = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let close = key[open + 1..].iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &key[open + 1..open + 1 + close])
        })
        .unwrap_or(key);
    let crc = tag.iter().fold(0u16, |crc, &b| {
        (0..8).fold(crc ^ (u16::from(b) << 8), |crc, _| {
            if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            }
        })
    });
    crc % 16384
}

/// Groups `items` by the slot of their key, keeping each item's position.
fn by_slot<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> &[u8],
) -> Vec<Vec<(usize, T)>> {
    let mut groups: HashMap<Slot, Vec<(usize, T)>> = HashMap::new();
    let mut order = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let slot = Slot::for_key(key(&item));
        let group = groups.entry(slot).or_insert_with(|| {
            order.push(slot);
            Vec::new()
        });
        group.push((i, item));
    }
    order
        .into_iter()
        .filter_map(|slot| groups.remove(&slot))
        .collect()
}

/// The SCAN position on a cluster: a primary and its own cursor.
fn parse_cursor(cursor: &ScanCursor) -> StoreResult<Option<((String, u16), String)>> {
    if cursor.is_done() {
        return Ok(None);
    }
    let invalid = || {
        StoreError::new(
            ErrorCode::ScanFailed,
            "the scan cursor was not made by this adapter",
        )
    };
    let (address, node_cursor) = cursor.as_str().split_once('/').ok_or_else(invalid)?;
    let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    let port = port.parse().map_err(|_| invalid())?;
    Ok(Some(((host.to_owned(), port), node_cursor.to_owned())))
}

#[cfg(test)]
mod tests {
    use redis::cluster_routing::{Route, SlotAddr};

    use super::{single_slot, slot_of};

    #[test]
    fn slot_numbers_are_the_redis_crates() {
        for key in [
            "",
            "a",
            "123456789",
            "igniter:store:api:{organization:acme}:kv:x",
            "{}:x",
            "a{b}c{d}",
            "{ü}",
            "no}{tag",
        ] {
            assert_eq!(
                Route::new(slot_of(key.as_bytes()), SlotAddr::Master),
                Route::with_key(key, SlotAddr::Master),
                "{key:?}"
            );
        }
        // The reference value of CRC16-XMODEM, and Redis's own example.
        // (0x31c3 is below 16384, so it is its own slot.)
        assert_eq!(slot_of(b"123456789"), 0x31c3);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
    }

    #[test]
    fn a_pattern_names_one_slot_only_through_a_whole_literal_hash_tag() {
        let tagged = "igniter:store:api:{organization:acme}:";
        assert_eq!(single_slot(&format!("{tagged}*")).as_deref(), Some(tagged));
        assert_eq!(
            single_slot(&format!("{tagged}kv:a*")).as_deref(),
            Some(&*format!("{tagged}kv:a"))
        );
        // No tag, an empty one, one left open before the first glob
        // character, or a brace only a glob could match: every slot.
        assert_eq!(single_slot("igniter:store:api:organization:acme:*"), None);
        assert_eq!(single_slot("igniter:store:api:{}:kv:*"), None);
        assert_eq!(single_slot("igniter:store:api:{organization:*}"), None);
        assert_eq!(single_slot("igniter:store:api:[{]a}:*"), None);
        assert_eq!(single_slot("*{a}"), None);
        // An escaped glob character is literal; braces need no escape.
        assert_eq!(single_slot(r"a\*{b}*").as_deref(), Some("a*{b}"));
    }
}
