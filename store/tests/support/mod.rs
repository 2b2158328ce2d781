//! Support shared by the integration test binaries: `redis-server` processes
//! and Redis Clusters started by the tests themselves on free ports.
//!
//! Include it with `mod support;` (from `store/tests/<binary>.rs`) or
//! `#[path = "support/mod.rs"] mod support;`. See `redis_server.rs` for how
//! the servers are cleaned up.

// Each test binary uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod redis_cluster;
pub mod redis_server;
pub mod subscriptions;

pub use redis_cluster::{ClusterNode, RedisCluster, Role};
pub use redis_server::{
    RedisServer, RedisServerBuilder, SKIP_ENV, shared, skip_redis, unique_prefix,
};
