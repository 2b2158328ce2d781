//! How the cost of a tenant's `purge` and `scan_all` grows with the rest of
//! the keyspace: a tenant of 1,000 keys in a Redis that also holds 10k, 100k
//! and 1M other keys. SCAN walks the whole keyspace whatever its pattern, so
//! the commands (and the time) follow the keyspace, not the tenant.
//!
//! ```text
//! cargo bench -p igniter-store --bench keyspace
//! BENCH_KEYSPACE=10000,100000 cargo bench -p igniter-store --bench keyspace
//! ```
//!
//! It starts its own `redis-server` (with `DEBUG POPULATE` enabled, which
//! fills the other keys in one command) and stops it at the end. Per size it
//! prints the median of 5 runs of each operation, and the SCAN and UNLINK
//! commands one run sent (from `INFO commandstats`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use igniter_store::batch::BatchEntry;
use igniter_store::{RedisAdapter, Store, StoreScopes};

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

/// `calls` of `cmdstat_<name>` in `INFO commandstats`.
fn calls(server: &support::RedisServer, name: &str) -> u64 {
    let info = server.cli(["INFO", "commandstats"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let server = support::RedisServer::builder()
        .arg("--enable-debug-command")
        .arg("yes")
        .start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| other keys | tenant keys | scan_all (median of {RUNS}) | SCANs | purge (median of {RUNS}) | SCANs | UNLINKs |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    rt.block_on(async {
        let adapter = RedisAdapter::connect(&server.url()).await.expect("connect");
        let store = Store::builder()
            .adapter(adapter)
            .service("keyspace")
            .scopes::<Tenant>()
            .build()
            .expect("store");
        let org = store.scope(tenant::Organization, "acme").expect("scope");
        let fill = || async {
            let entries: Vec<(String, u32)> = (0..TENANT_KEYS).map(|i| (format!("k:{i}"), i as u32)).collect();
            org.batch()
                .set(entries.iter().map(|(k, v)| BatchEntry::new(k.as_str(), v)))
                .await
                .expect("fill the tenant");
        };
        for size in sizes() {
            server.cli(["FLUSHALL"]);
            // Other keys, outside the store: `other:<n>`.
            server.cli(["DEBUG", "POPULATE", &size.to_string(), "other", "16"]);
            fill().await;
            let (mut scan_times, mut purge_times) = (Vec::new(), Vec::new());
            let (mut scan_cmds, mut purge_scans, mut purge_unlinks) = (0, 0, 0);
            for _ in 0..RUNS {
                let before = calls(&server, "scan");
                let t0 = Instant::now();
                let keys: Vec<String> = org.dev().scan_all("*").try_collect().await.expect("scan_all");
                scan_times.push(t0.elapsed());
                scan_cmds = calls(&server, "scan") - before;
                assert_eq!(keys.len(), TENANT_KEYS);

                let (scans, unlinks) = (calls(&server, "scan"), calls(&server, "unlink"));
                let t0 = Instant::now();
                let removed = org.purge().await.expect("purge");
                purge_times.push(t0.elapsed());
                purge_scans = calls(&server, "scan") - scans;
                purge_unlinks = calls(&server, "unlink") - unlinks;
                assert_eq!(removed as usize, TENANT_KEYS);
                fill().await;
            }
            println!(
                "| {size} | {TENANT_KEYS} | {:.1} ms | {scan_cmds} | {:.1} ms | {purge_scans} | {purge_unlinks} |",
                median(scan_times).as_secs_f64() * 1e3,
                median(purge_times).as_secs_f64() * 1e3,
            );
        }
    });
}
