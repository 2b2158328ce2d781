//! The conformance suite (`conformance/`), instantiated in this one test
//! binary for every backend, each instance a module of one test per case:
//!
//! - `memory::`: [`MemoryAdapter`];
//! - `redis::`: [`RedisAdapter`], on one `redis-server` this binary starts
//!   for itself;
//! - `cluster::`: [`RedisClusterAdapter`], on one 3-primary Redis Cluster
//!   this binary starts for itself;
//! - `custom_memory::` and `custom_redis::`: the memory and Redis adapters
//!   behind a forwarding adapter of another type ([`CountingAdapter`]), so
//!   every operation goes through the `DynStoreAdapter` trait, as a custom
//!   adapter's does, rather than the store's direct calls to the built-ins.
//!
//! Each instance's `runs_every_case` checks that it runs every case of the
//! suite's one list (`conformance::CASES`), so every instance has the same
//! count; `every_written_case_is_listed` checks that the list holds every
//! case written in `conformance/`. The servers start on first use, once for
//! the binary; cases isolate themselves by service name. With
//! `IGNITER_STORE_SKIP_REDIS_TESTS=1` the Redis and cluster instances pass
//! without running; the memory ones still run.

mod conformance;
mod support;

use std::sync::{Arc, OnceLock};

use conformance::Harness;
use conformance::cases::CountingAdapter;
use igniter_store::adapter::Backend;
use igniter_store::{MemoryAdapter, RedisAdapter, RedisClusterAdapter};

conformance_suite! {
    memory => memory_harness,
    redis => redis_harness,
    cluster => cluster_harness,
    custom_memory => custom_memory_harness,
    custom_redis => custom_redis_harness,
}

/// A built-in adapter, or the same behind the forwarding adapter.
fn wrap(adapter: Backend, custom: bool) -> Backend {
    if custom {
        Backend::Custom(Arc::new(CountingAdapter::new(adapter)))
    } else {
        adapter
    }
}

struct Memory {
    adapter: MemoryAdapter,
    custom: bool,
}

impl Harness for Memory {
    fn adapter(&self) -> futures::future::BoxFuture<'static, Backend> {
        let adapter = wrap(Backend::new(self.adapter.clone()), self.custom);
        Box::pin(async move { adapter })
    }

    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Backend> {
        let adapter = wrap(
            Backend::new(MemoryAdapter::with_subscriber_capacity(capacity)),
            self.custom,
        );
        Box::pin(async move { adapter })
    }
}

fn memory_harness() -> Option<&'static dyn Harness> {
    static H: OnceLock<Memory> = OnceLock::new();
    Some(H.get_or_init(|| Memory {
        adapter: MemoryAdapter::new(),
        custom: false,
    }))
}

fn custom_memory_harness() -> Option<&'static dyn Harness> {
    static H: OnceLock<Memory> = OnceLock::new();
    Some(H.get_or_init(|| Memory {
        adapter: MemoryAdapter::new(),
        custom: true,
    }))
}

struct Redis {
    url: String,
    custom: bool,
}

impl Redis {
    /// One adapter per case: each case runs on its own tokio runtime, and a
    /// connection belongs to the runtime that made it.
    fn connect(&self, capacity: Option<usize>) -> futures::future::BoxFuture<'static, Backend> {
        let url = self.url.clone();
        let custom = self.custom;
        Box::pin(async move {
            let mut builder = RedisAdapter::builder(&url);
            if let Some(capacity) = capacity {
                builder = builder.subscriber_capacity(capacity);
            }
            let adapter = builder.connect().await.expect("connect to the test server");
            wrap(Backend::new(adapter), custom)
        })
    }
}

impl Harness for Redis {
    fn adapter(&self) -> futures::future::BoxFuture<'static, Backend> {
        self.connect(None)
    }

    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Backend> {
        self.connect(Some(capacity))
    }
}

fn redis_harness() -> Option<&'static dyn Harness> {
    if support::skip_redis() {
        return None;
    }
    static H: OnceLock<Redis> = OnceLock::new();
    Some(H.get_or_init(|| Redis {
        url: support::shared().url(),
        custom: false,
    }))
}

fn custom_redis_harness() -> Option<&'static dyn Harness> {
    if support::skip_redis() {
        return None;
    }
    static H: OnceLock<Redis> = OnceLock::new();
    Some(H.get_or_init(|| Redis {
        url: support::shared().url(),
        custom: true,
    }))
}

/// The cluster of this binary: started on first use.
fn cluster() -> &'static support::RedisCluster {
    static CLUSTER: OnceLock<support::RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| support::RedisCluster::start(3, 0))
}

struct Cluster {
    seeds: Vec<String>,
}

impl Cluster {
    fn connect(&self, capacity: Option<usize>) -> futures::future::BoxFuture<'static, Backend> {
        let seeds = self.seeds.clone();
        Box::pin(async move {
            let mut builder = RedisClusterAdapter::builder(&seeds);
            if let Some(capacity) = capacity {
                builder = builder.subscriber_capacity(capacity);
            }
            let adapter = builder
                .connect()
                .await
                .expect("connect to the test cluster");
            Backend::new(adapter)
        })
    }
}

impl Harness for Cluster {
    fn adapter(&self) -> futures::future::BoxFuture<'static, Backend> {
        self.connect(None)
    }

    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Backend> {
        self.connect(Some(capacity))
    }

    fn exact_publish_counts(&self) -> bool {
        false
    }

    fn moves_between(&self, from: &str, to: &str) -> bool {
        use ::redis::cluster_routing::Slot;
        Slot::for_key(from.as_bytes()) == Slot::for_key(to.as_bytes())
    }
}

fn cluster_harness() -> Option<&'static dyn Harness> {
    if support::skip_redis() {
        return None;
    }
    static H: OnceLock<Cluster> = OnceLock::new();
    Some(H.get_or_init(|| Cluster {
        seeds: cluster().seed_urls(),
    }))
}

/// The suite's list holds every case written in `conformance/` (a
/// `pub async fn <case>(h: H)`), and nothing else: a case missing from the
/// list would run on no backend.
#[test]
fn every_written_case_is_listed() {
    let sources = [
        include_str!("conformance/cases.rs"),
        include_str!("conformance/events.rs"),
        include_str!("conformance/isolation.rs"),
        include_str!("conformance/stream_admin.rs"),
        include_str!("conformance/streams.rs"),
    ];
    let written: Vec<&str> = sources
        .iter()
        .flat_map(|source| source.lines())
        .filter_map(|line| line.strip_prefix("pub async fn ")?.strip_suffix("(h: H) {"))
        .collect();
    let listed = conformance::CASES;
    let unlisted: Vec<&str> = written
        .iter()
        .copied()
        .filter(|case| !listed.contains(case))
        .collect();
    let unwritten: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|case| !written.contains(case))
        .collect();
    assert!(
        unlisted.is_empty() && unwritten.is_empty(),
        "cases written but not in the suite's list: {unlisted:?}; \
         listed but not written as `pub async fn <case>(h: H)`: {unwritten:?}"
    );
    assert_eq!(written.len(), listed.len(), "a case listed twice");
}
