//! How the cost of a tenant's `purge` and `scan_all` grows with the rest of
//! the keyspace: a tenant of 1,000 keys in a store that also holds 10k, 100k
//! and 1M other keys, on one Redis, on a 3-primary Redis Cluster with and
//! without the builder's `scope_hash_tag`, and on the memory adapter.
//!
//! On one Redis (and on a cluster without the tag) SCAN walks the whole
//! keyspace whatever its pattern, so the commands and the time follow the
//! keyspace, not the tenant. With `scope_hash_tag` a tenant lives in one
//! slot, which the cluster adapter lists alone (`CLUSTER GETKEYSINSLOT`):
//! the cost follows the tenant. The memory adapter keeps its keys in order
//! and reads the tenant's range alone. Last, what the tag costs a write: kv
//! sets at 64 tasks on the cluster, tagged and not, in interleaved rounds.
//!
//! ```text
//! cargo bench -p igniter-store --bench keyspace
//! BENCH_KEYSPACE=10000,100000 BENCH_PARTS=cluster,memory cargo bench -p igniter-store --bench keyspace
//! ```
//!
//! It starts its own `redis-server` and cluster (with `DEBUG POPULATE`
//! enabled, which fills the other keys in one command per node) and stops
//! them at the end. Per size it prints the median of 5 runs of each
//! operation, and the commands one run sent (from `INFO commandstats`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use igniter_store::batch::BatchEntry;
use igniter_store::{
    MemoryAdapter, RedisAdapter, RedisClusterAdapter, Store, StoreAdapter, StoreScopes,
};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
}

const TENANT_KEYS: usize = 1_000;
const RUNS: usize = 5;

fn sizes() -> Vec<u64> {
    std::env::var("BENCH_KEYSPACE")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

fn part(name: &str) -> bool {
    std::env::var("BENCH_PARTS").map_or(true, |parts| parts.split(',').any(|p| p.trim() == name))
}

/// `calls` of `cmdstat_<name>` in `INFO commandstats` of each server, summed.
fn calls(servers: &[&support::RedisServer], name: &str) -> u64 {
    servers
        .iter()
        .map(|server| {
            let info = server.cli(["INFO", "commandstats"]);
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

async fn fill(org: &Store<tenant::Organization>) {
    let entries: Vec<(String, u32)> = (0..TENANT_KEYS)
        .map(|i| (format!("k:{i}"), i as u32))
        .collect();
    org.batch()
        .set(entries.iter().map(|(k, v)| BatchEntry::new(k.as_str(), v)))
        .await
        .expect("fill the tenant");
}

/// The median times of `scan_all` and `purge` of the tenant, and the commands
/// one run of each sent (`counted`: the command names, summed over `servers`).
async fn measure(
    org: &Store<tenant::Organization>,
    servers: &[&support::RedisServer],
    counted: &[&str],
) -> (Duration, Duration, String, String) {
    let count = |servers: &[&support::RedisServer]| -> Vec<u64> {
        counted.iter().map(|c| calls(servers, c)).collect()
    };
    let diff = |before: Vec<u64>, after: Vec<u64>| -> String {
        counted
            .iter()
            .zip(before.iter().zip(after))
            .filter(|(_, (b, a))| a > *b)
            .map(|(name, (b, a))| format!("{} {name}", a - b))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (mut scan_times, mut purge_times) = (Vec::new(), Vec::new());
    let (mut scan_cmds, mut purge_cmds) = (String::new(), String::new());
    for _ in 0..RUNS {
        let before = count(servers);
        let t0 = Instant::now();
        let keys: Vec<String> = org
            .dev()
            .scan_all("*")
            .try_collect()
            .await
            .expect("scan_all");
        scan_times.push(t0.elapsed());
        scan_cmds = diff(before, count(servers));
        assert_eq!(keys.len(), TENANT_KEYS);

        let before = count(servers);
        let t0 = Instant::now();
        let removed = org.purge().await.expect("purge");
        purge_times.push(t0.elapsed());
        purge_cmds = diff(before, count(servers));
        assert_eq!(removed as usize, TENANT_KEYS);
        fill(org).await;
    }
    (
        median(scan_times),
        median(purge_times),
        scan_cmds,
        purge_cmds,
    )
}

fn header(title: &str) {
    println!("\n{title}\n");
    println!(
        "| other keys | tenant keys | scan_all (median of {RUNS}) | commands | purge (median of {RUNS}) | commands |"
    );
    println!("|---:|---:|---:|---|---:|---|");
}

fn store(adapter: impl StoreAdapter, tagged: bool) -> Store<Tenant> {
    let builder = Store::builder()
        .adapter(adapter)
        .service("keyspace")
        .scopes::<Tenant>();
    let builder = if tagged {
        builder.scope_hash_tag()
    } else {
        builder
    };
    builder.build().expect("store")
}

async fn single_redis() {
    let server = support::RedisServer::builder()
        .arg("--enable-debug-command")
        .arg("yes")
        .start();
    let adapter = RedisAdapter::connect(&server.url()).await.expect("connect");
    let store = store(adapter, false);
    let org = store.scope(tenant::Organization, "acme").expect("scope");
    header("one Redis: SCAN of the whole keyspace");
    for size in sizes() {
        server.cli(["FLUSHALL"]);
        // Other keys, outside the store: `other:<n>`.
        server.cli(["DEBUG", "POPULATE", &size.to_string(), "other", "16"]);
        fill(&org).await;
        let (scan, purge, scan_cmds, purge_cmds) =
            measure(&org, &[&server], &["scan", "unlink"]).await;
        println!(
            "| {size} | {TENANT_KEYS} | {} | {scan_cmds} | {} | {purge_cmds} |",
            ms(scan),
            ms(purge)
        );
    }
}

async fn cluster() {
    let cluster =
        support::RedisCluster::start_with_args(3, 0, &["--enable-debug-command", "local"]);
    let primaries: Vec<&support::RedisServer> = cluster
        .primaries()
        .into_iter()
        .map(|p| cluster.node(p))
        .collect();
    let adapter = RedisClusterAdapter::connect(cluster.seed_urls())
        .await
        .expect("connect");
    let counted = ["scan", "cluster|keyslot", "cluster|getkeysinslot", "unlink"];
    for tagged in [false, true] {
        let store = store(adapter.clone(), tagged);
        let org = store.scope(tenant::Organization, "acme").expect("scope");
        header(if tagged {
            "Redis Cluster, 3 primaries, with `scope_hash_tag`: the tenant's slot alone"
        } else {
            "Redis Cluster, 3 primaries, without the tag: SCAN of every primary"
        });
        for size in sizes() {
            for node in &primaries {
                node.cli(["FLUSHALL"]);
                // A third of the other keys on each primary (in whatever
                // slots their names hash to: the keyspace SCAN walks).
                node.cli(["DEBUG", "POPULATE", &(size / 3).to_string(), "other", "16"]);
            }
            fill(&org).await;
            let (scan, purge, scan_cmds, purge_cmds) = measure(&org, &primaries, &counted).await;
            println!(
                "| {size} | {TENANT_KEYS} | {} | {scan_cmds} | {} | {purge_cmds} |",
                ms(scan),
                ms(purge)
            );
        }
    }
    write_cost(&adapter).await;
}

/// What the tag costs a write: `kv.set` (no TTL) from 64 tasks, 20,000 sets a
/// round, tagged and untagged stores interleaved, 7 rounds each.
async fn write_cost(adapter: &RedisClusterAdapter) {
    const TASKS: usize = 64;
    const PER_TASK: usize = 20_000 / TASKS;
    let run = |tagged: bool| {
        let store = store(adapter.clone(), tagged);
        async move {
            let t0 = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let org = store
                        .scope(tenant::Organization, format!("tenant{t}"))
                        .expect("scope");
                    tokio::spawn(async move {
                        for i in 0..PER_TASK {
                            org.kv()
                                .set(&format!("w:{}", i % 16), &i)
                                .await
                                .expect("set");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
            (TASKS * PER_TASK) as f64 / t0.elapsed().as_secs_f64()
        }
    };
    run(false).await;
    run(true).await;
    let (mut plain, mut tagged) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        plain.push(run(false).await);
        tagged.push(run(true).await);
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, t) = (med(plain), med(tagged));
    println!(
        "\nwrite cost of the tag: kv.set from {TASKS} tasks on the cluster, median of 7 interleaved rounds\n"
    );
    println!("| store | sets/s |");
    println!("|---|---:|");
    println!("| without `scope_hash_tag` | {p:.0} |");
    println!("| with `scope_hash_tag` | {t:.0} |");
    println!("| tagged / untagged | {:.3} |", t / p);
}

async fn memory() {
    header("memory adapter: its keys in order, the tenant's range alone");
    for size in sizes() {
        let store = store(MemoryAdapter::new(), false);
        let org = store.scope(tenant::Organization, "acme").expect("scope");
        // Other keys: another tenant's, in batches of 10,000.
        let other = store.scope(tenant::Organization, "other").expect("scope");
        for start in (0..size).step_by(10_000) {
            let keys: Vec<String> = (start..(start + 10_000).min(size))
                .map(|i| format!("o:{i}"))
                .collect();
            other
                .batch()
                .set(keys.iter().map(|k| BatchEntry::new(k.as_str(), &0u8)))
                .await
                .expect("fill");
        }
        fill(&org).await;
        let (scan, purge, _, _) = measure(&org, &[], &[]).await;
        println!(
            "| {size} | {TENANT_KEYS} | {} | - | {} | - |",
            ms(scan),
            ms(purge)
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if part("redis") {
            single_redis().await;
        }
        if part("cluster") {
            cluster().await;
        }
        if part("memory") {
            memory().await;
        }
    });
}
