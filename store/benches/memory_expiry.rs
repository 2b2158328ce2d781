//! The memory adapter while many keys expire together (issue 13, item 9).
//!
//! Fills `BENCH_EXPIRING` keys (default 500,000) of one tenant in one batch,
//! so that all of them share one deadline (`BENCH_TTL_MS`, default 1,000 ms
//! when the adapter takes it), and 1,000 keys
//! of another tenant without a TTL. It times `BENCH_GETS` gets (default
//! 50,000) on the other tenant before the expiry, as a baseline, then as many
//! from the moment the keys have expired, one after another, each timed with
//! `Instant`: the first of them run while the expired keys are reclaimed. It
//! prints the first get after the expiry, p50, p99, p99.9 and max of each
//! phase, the same for the first 10,000 gets after the expiry alone (the
//! adapter reclaims at most 64 keys per operation, so 500k keys take 7,813
//! gets), and how many keys are live at the end.
//!
//! `cargo bench -p igniter-store --bench memory_expiry`

use std::hint::black_box;
use std::time::{Duration, Instant};

use igniter_store::{MemoryAdapter, Store, StoreScopes, batch::BatchEntry};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
}

const OTHER_KEYS: usize = 1_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(phase: &str, mut samples: Vec<Duration>) {
    let first = samples.first().copied().unwrap_or_default();
    samples.sort_unstable();
    println!(
        "{phase:<24} gets {:>6}  first {:>10.1?}  p50 {:>8.1?}  p99 {:>8.1?}  p99.9 {:>8.1?}  max {:>10.1?}",
        samples.len(),
        first,
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        percentile(&samples, 99.9),
        samples.last().copied().unwrap_or_default(),
    );
}

async fn timed_gets(
    store: &Store<tenant::Organization>,
    keys: &[String],
    n: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let key = &keys[i % keys.len()];
        let start = Instant::now();
        let v: Option<String> = store.kv().get(key).await.expect("get");
        samples.push(start.elapsed());
        black_box(v);
    }
    samples
}

fn main() {
    let expiring = env("BENCH_EXPIRING", 500_000) as usize;
    let gets = env("BENCH_GETS", 50_000) as usize;
    let ttl = Duration::from_millis(env("BENCH_TTL_MS", 1_000));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let adapter = MemoryAdapter::new();
        let store = Store::builder()
            .adapter(adapter.clone())
            .service("bench")
            .scopes::<Tenant>()
            .build()
            .expect("store");
        let a = store.scope(tenant::Organization, "org_a").expect("scope");
        let b = store.scope(tenant::Organization, "org_b").expect("scope");

        let other: Vec<String> = (0..OTHER_KEYS).map(|i| format!("key:{i}")).collect();
        for key in &other {
            b.kv().set(key, "value").await.expect("set");
        }
        report("before the expiry", timed_gets(&b, &other, gets).await);

        // One batch: on the memory adapter, one MSET with one deadline for
        // every key, the worst case.
        let keys: Vec<String> = (0..expiring).map(|i| format!("session:{i:07}")).collect();
        let value = "v";
        let began = Instant::now();
        a.batch()
            .set(keys.iter().map(|k| BatchEntry::new(k, value).ttl(ttl)))
            .await
            .expect("batch set");
        let filled = began.elapsed();
        // The adapter took the deadline after `began` and before the batch
        // returned: gets flow (untimed) until shortly before the earliest it
        // can be, then the loop spins without operations until shortly after
        // the latest, so that the timed gets find every key expired and none
        // reclaimed, on a thread that kept running (a thread woken from a
        // sleep runs its first operations on cold caches, slower by hundreds
        // of microseconds here, whatever they do).
        let mut n = 0;
        while began.elapsed() + Duration::from_millis(50) < ttl {
            let v: Option<String> = b.kv().get(&other[n % OTHER_KEYS]).await.expect("get");
            black_box(v);
            n += 1;
        }
        let expired_at = began + filled + ttl + Duration::from_millis(20);
        while Instant::now() < expired_at {
            std::hint::spin_loop();
        }
        println!("filled {expiring} keys with a TTL of {ttl:?} in one batch, in {filled:.1?}");

        let after = timed_gets(&b, &other, gets).await;
        report("after the expiry", after.clone());
        report(
            "  its first 10,000 gets",
            after.into_iter().take(10_000).collect(),
        );
        println!("live keys after: {}", adapter.len());
    });
}
