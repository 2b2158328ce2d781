//! The command connection of either Redis adapter, for the store's direct
//! path ([`Backend::redis`]), which runs the command functions both adapters
//! run without knowing the topology at compile time.

use crate::adapter::Backend;
use crate::error::StoreResult;

/// A Redis connection of either Redis adapter, for the command functions
/// both run.
pub(crate) enum Connection {
    Single(redis::aio::ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "cluster")]
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            #[cfg(feature = "cluster")]
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// One of the Redis adapters.
#[derive(Clone, Copy)]
pub(crate) enum RedisTarget<'a> {
    Single(&'a crate::RedisAdapter),
    #[cfg(feature = "cluster")]
    Cluster(&'a crate::RedisClusterAdapter),
}

impl RedisTarget<'_> {
    /// Its command connection; `STORE_NOT_CONNECTED` once closed.
    pub(crate) fn open(self) -> StoreResult<Connection> {
        match self {
            RedisTarget::Single(redis) => redis.open().map(Connection::Single),
            #[cfg(feature = "cluster")]
            RedisTarget::Cluster(cluster) => cluster.open().map(Connection::Cluster),
        }
    }
}

impl Backend {
    /// The adapter when it is one of the Redis adapters.
    pub(crate) fn redis(&self) -> Option<RedisTarget<'_>> {
        match self {
            Backend::Redis(redis) => Some(RedisTarget::Single(redis)),
            #[cfg(feature = "cluster")]
            Backend::Cluster(cluster) => Some(RedisTarget::Cluster(cluster)),
            _ => None,
        }
    }
}
