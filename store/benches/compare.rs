//! The store against hand-written code on the raw `redis` crate (and, for the
//! memory adapter, against a `Mutex<HashMap>`): same values, same serde_json
//! encoding, same concurrency, in interleaved rounds (store, raw, store, raw,
//! ...).
//!
//! ```text
//! cargo bench -p igniter-store --bench compare              # every workload
//! cargo bench -p igniter-store --bench compare -- 1 7       # workloads 1 and 7 only
//! BENCH_ONLY=5 BENCH_ROUNDS=3 BENCH_ROUND_MS=500 cargo bench -p igniter-store --bench compare
//! ```
//!
//! It starts its own `redis-server` on a free port (the test harness's
//! `RedisServer`) and stops it at the end.
//!
//! Environment:
//!
//! - `BENCH_ONLY`: workloads to run, e.g. `1,4,7` (also as arguments).
//! - `BENCH_ROUNDS`: rounds per side (default 7, at least 1).
//! - `BENCH_ROUND_MS`: length of one timed round of one side (default 700;
//!   workload 6 ignores it: each of its rounds is 100k entries). Workloads
//!   1 and 4 run together: at concurrency 1 one task alternates every side
//!   operation by operation, in rounds of twice this length; at 64 and 256
//!   they run five times the rounds, each a third as long.
//! - `BENCH_PROFILE=<case>` and `BENCH_PROFILE_OPS=<n>`: run exactly `n`
//!   operations of one case on a current-thread runtime inside the function
//!   `measured`, for `valgrind --tool=callgrind --collect-atstart=no
//!   --toggle-collect='*measured*'` (instructions per operation). Cases:
//!   `mem-get`, `mem-set`, `mem-get-d3`, `redis-get`, `redis-set`,
//!   `redis-get-d3`, `redis-set-d3`, `redis-incr`, `redis-mget`,
//!   `redis-mset` (1,000 keys an operation), `redis-xread` (a group read
//!   of 100 entries and their ack an operation), each followed by `-store`
//!   or `-raw` (`-d3`: on a store scoped 3 deep, and its keys for raw).
//! - `BENCH_PROFILE_TASKS=<t>`: run the profiled case as `t` loops at once
//!   (`n / t` operations each), so that commands are pipelined as under load.
//! - `BENCH_VERBOSE=1`: print each row's per-round ratios and rates too.
//! - `BENCH_NO_DEADLINE=1` (diagnosis): the Redis store without its deadline.
//! - `BENCH_CONC=64` (or `1,256`): the concurrencies of workload 8.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use igniter_store::{MemoryAdapter, RedisAdapter, Store, StoreScopes, batch::BatchEntry};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamReadReply;
use redis::{Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};

// ---------------------------------------------------------------- the data

/// The small JSON value of the kv workloads (about 90 bytes of JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    email: String,
    active: bool,
    logins: u32,
}

fn profile() -> Profile {
    Profile {
        id: 12_345,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        active: true,
        logins: 42,
    }
}

/// The pub/sub event.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tick {
    seq: u64,
    /// Nanoseconds since the program's epoch, when it was published.
    sent_ns: u64,
    source: String,
}

/// The stream message.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    id: u64,
    image: String,
    width: u32,
    height: u32,
}

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    Organization,
    Workspace,
    Project,
}

igniter_store::events! {
    pub bench {
        tick(Tick),
    }
}

const SERVICE: &str = "bench";
const TTL: Duration = Duration::from_secs(600);
const TTL_MS: u64 = 600_000;
/// Keys per task in the kv workloads.
const KEYS_PER_TASK: usize = 16;

/// Scoped 0 to 3 deep from values, so one type holds every depth.
type BenchStore = Store<igniter_store::scope::Dynamic<Tenant>>;

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn nanos(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------- config

struct Config {
    rounds: usize,
    round: Duration,
    only: Option<BTreeSet<u32>>,
}

impl Config {
    fn from_env() -> Config {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(default)
        };
        let mut only = BTreeSet::new();
        let mut add = |text: &str| {
            for part in text.split([',', ' ']) {
                if let Ok(n) = part.trim().parse::<u32>() {
                    only.insert(n);
                }
            }
        };
        if let Ok(v) = std::env::var("BENCH_ONLY") {
            add(&v);
        }
        // `cargo bench` passes `--bench`; anything that is not a flag is a
        // workload number.
        for arg in std::env::args().skip(1).filter(|a| !a.starts_with('-')) {
            add(&arg);
        }
        Config {
            rounds: number("BENCH_ROUNDS", 7).max(1) as usize,
            round: Duration::from_millis(number("BENCH_ROUND_MS", 700).max(50)),
            only: (!only.is_empty()).then_some(only),
        }
    }

    fn wants(&self, workload: u32) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(&workload))
    }

    /// `BENCH_CONC` (e.g. `64` or `1,256`): the concurrencies workload 8
    /// runs at; all of 1, 64 and 256 by default.
    fn wants_conc(&self, conc: usize) -> bool {
        std::env::var("BENCH_CONC").map_or(true, |list| {
            list.split(',').any(|c| c.trim().parse() == Ok(conc))
        })
    }
}

// ---------------------------------------------------------------- samples

/// One timed round of one side.
#[derive(Default)]
struct Sample {
    ops: u64,
    secs: f64,
    /// Latencies in nanoseconds, when the workload records them.
    lat: Vec<u32>,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// What one task of a closed loop did.
struct TaskOut {
    ops: u64,
    lat: Vec<u32>,
}

/// A closed loop: `$body` runs again and again until `$deadline`, with `$n`
/// the task's operation count so far. With `record`, every operation is timed;
/// without, the clock is read every 64 operations and the task yields there
/// (memory workloads, whose operations never wait: without the yield one task
/// would run its whole round before the next one starts).
macro_rules! closed_loop {
    ($deadline:expr, record, |$n:ident| $body:block) => {{
        let deadline: Instant = $deadline;
        let mut lat: Vec<u32> = Vec::with_capacity(4096);
        let mut $n: u64 = 0;
        loop {
            let t0 = Instant::now();
            if t0 >= deadline {
                break;
            }
            $body
            lat.push(nanos(t0.elapsed()));
            $n += 1;
        }
        TaskOut { ops: $n, lat }
    }};
    ($deadline:expr, fast, $yield:expr, |$n:ident| $body:block) => {{
        let deadline: Instant = $deadline;
        let mut $n: u64 = 0;
        loop {
            for _ in 0..64 {
                $body
                $n += 1;
            }
            if Instant::now() >= deadline {
                break;
            }
            if $yield {
                tokio::task::yield_now().await;
            }
        }
        TaskOut {
            ops: $n,
            lat: Vec::new(),
        }
    }};
}

/// Runs `conc` tasks made by `task(index, deadline)` for `dur`.
async fn run_tasks<F, Fut>(conc: usize, dur: Duration, task: F) -> Sample
where
    F: Fn(usize, Instant) -> Fut,
    Fut: Future<Output = TaskOut> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + dur;
    let handles: Vec<_> = (0..conc).map(|i| tokio::spawn(task(i, deadline))).collect();
    let mut sample = Sample::default();
    for handle in handles {
        let out = handle.await.expect("a benchmark task panicked");
        sample.ops += out.ops;
        sample.lat.extend(out.lat);
    }
    sample.secs = start.elapsed().as_secs_f64();
    sample
}

/// One line of the table.
struct Row {
    workload: u32,
    name: String,
    conc: String,
    unit: &'static str,
    store: Vec<Sample>,
    raw: Vec<Sample>,
    /// The lowest store/baseline ratio the issue accepts.
    target: f64,
}

impl Row {
    fn ratios(&self) -> Vec<f64> {
        self.store
            .iter()
            .zip(&self.raw)
            .map(|(s, r)| s.rate() / r.rate())
            .collect()
    }

    fn ratio(&self) -> f64 {
        median(self.ratios())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn rates(samples: &[Sample]) -> (f64, f64, f64) {
    let r: Vec<f64> = samples.iter().map(Sample::rate).collect();
    let min = r.iter().copied().fold(f64::INFINITY, f64::min);
    let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(r), min, max)
}

fn percentiles(samples: &[Sample]) -> Option<(f64, f64)> {
    let mut all: Vec<u32> = samples.iter().flat_map(|s| s.lat.iter().copied()).collect();
    if all.is_empty() {
        return None;
    }
    all.sort_unstable();
    let at = |q: f64| f64::from(all[((all.len() - 1) as f64 * q).round() as usize]) / 1000.0;
    Some((at(0.50), at(0.99)))
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e4 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

fn latency(samples: &[Sample]) -> String {
    match percentiles(samples) {
        Some((p50, p99)) => format!("{p50:.0}/{p99:.0}"),
        None => "-".into(),
    }
}

const HEADER: &str = "| # | workload | conc | unit | store ops/s median [min–max] | baseline ops/s median [min–max] | store/baseline | store p50/p99 µs | baseline p50/p99 µs |";
const RULE: &str = "|---|---|---:|---|---:|---:|---:|---:|---:|";

fn line(row: &Row) -> String {
    let (sm, smin, smax) = rates(&row.store);
    let (rm, rmin, rmax) = rates(&row.raw);
    format!(
        "| {} | {} | {} | {} | {} [{}–{}] | {} [{}–{}] | {:.3} | {} | {} |",
        row.workload,
        row.name,
        row.conc,
        row.unit,
        human(sm),
        human(smin),
        human(smax),
        human(rm),
        human(rmin),
        human(rmax),
        row.ratio(),
        latency(&row.store),
        latency(&row.raw),
    )
}

/// Interleaved rounds: one warm-up round of each side (a quarter long, not
/// counted), then `rounds` × (store, raw). Each call of a side returns one
/// sample per row of the workload.
async fn interleave<A, FA, B, FB>(
    cfg: &Config,
    mut store: A,
    mut raw: B,
) -> Vec<(Vec<Sample>, Vec<Sample>)>
where
    A: FnMut(Duration, usize) -> FA,
    FA: Future<Output = Vec<Sample>>,
    B: FnMut(Duration, usize) -> FB,
    FB: Future<Output = Vec<Sample>>,
{
    let warm = cfg.round / 4;
    store(warm, usize::MAX).await;
    raw(warm, usize::MAX).await;
    let mut out: Vec<(Vec<Sample>, Vec<Sample>)> = Vec::new();
    for round in 0..cfg.rounds {
        let s = store(cfg.round, round).await;
        let r = raw(cfg.round, round).await;
        if out.is_empty() {
            out = (0..s.len()).map(|_| (Vec::new(), Vec::new())).collect();
        }
        for (i, (s, r)) in s.into_iter().zip(r).enumerate() {
            out[i].0.push(s);
            out[i].1.push(r);
        }
    }
    out
}

// ---------------------------------------------------------------- set-up

async fn raw_manager(url: &str) -> ConnectionManager {
    // As the adapter does for URLs: TCP_NODELAY. Otherwise the defaults.
    let info = url.into_connection_info().expect("redis url");
    let tcp = info.tcp_settings().clone().set_nodelay(true);
    let client = Client::open(info.set_tcp_settings(tcp)).expect("redis client");
    ConnectionManager::new(client)
        .await
        .expect("raw connection")
}

async fn redis_store(url: &str) -> BenchStore {
    let builder = Store::builder()
        .adapter(RedisAdapter::connect(url).await.expect("redis adapter"))
        .service(SERVICE)
        .scopes::<Tenant>();
    // For diagnosis only: the store without its deadline.
    let builder = if std::env::var_os("BENCH_NO_DEADLINE").is_some() {
        builder.no_timeout()
    } else {
        builder
    };
    builder.build().expect("store").into_dynamic()
}

fn scoped(store: &BenchStore, depth: usize) -> BenchStore {
    let mut s = store.clone();
    let chain = [
        (Tenant::Organization, "org_4242"),
        (Tenant::Workspace, "ws_main"),
        (Tenant::Project, "proj_17"),
    ];
    for (scope, id) in chain.into_iter().take(depth) {
        s = s.scope(scope, id).expect("scope");
    }
    s
}

/// Per task: the keys relative to the store and the full keys.
type TaskKeys = Vec<(Vec<String>, Vec<String>)>;

/// Per task: the keys relative to the store, and the full keys a raw client
/// uses for them (the store's own key, so both sides send the same bytes).
fn kv_keys(store: &BenchStore, tasks: usize, tag: &str) -> TaskKeys {
    (0..tasks)
        .map(|t| {
            let rel: Vec<String> = (0..KEYS_PER_TASK)
                .map(|i| format!("{tag}:{t}:{i}"))
                .collect();
            let full = rel
                .iter()
                .map(|k| store.kv().key(k).expect("key"))
                .collect();
            (rel, full)
        })
        .collect()
}

// ---------------------------------------------------------------- workloads

/// Workloads 1 and 4: set then get of a small JSON value, per task on its own
/// keys, on each of `stores` (depth 0 and 3), all in one interleaved
/// sequence: store, raw on the same keys, then the next store, raw, ... in
/// every round. Round `i` of every store is thus measured at nearly the same
/// time, which the scope-depth target compares.
async fn kv_workload(
    cfg: &Config,
    stores: &[&BenchStore],
    raw: &ConnectionManager,
    conc: usize,
) -> Vec<(Vec<Sample>, Vec<Sample>)> {
    let value = Arc::new(profile());
    let keys: Vec<_> = stores
        .iter()
        .map(|store| Arc::new(kv_keys(store, conc, &format!("kv{conc}"))))
        .collect();
    let store_round = |i: usize, dur: Duration| {
        let (store, keys, value) = (stores[i].clone(), keys[i].clone(), value.clone());
        run_tasks(conc, dur, move |t, deadline| {
            let (store, keys, value) = (store.clone(), keys.clone(), value.clone());
            async move {
                let keys = &keys[t].0;
                closed_loop!(deadline, record, |n| {
                    let k = &keys[(n / 2) as usize % keys.len()];
                    if n.is_multiple_of(2) {
                        store.kv().set(k, &*value).ttl(TTL).await.expect("set");
                    } else {
                        let v: Option<Profile> = store.kv().get(k).await.expect("get");
                        black_box(v.expect("a value"));
                    }
                })
            }
        })
    };
    let raw_round = |i: usize, dur: Duration| {
        let (raw, keys, value) = (raw.clone(), keys[i].clone(), value.clone());
        run_tasks(conc, dur, move |t, deadline| {
            let (mut con, keys, value) = (raw.clone(), keys.clone(), value.clone());
            async move {
                let keys = &keys[t].1;
                closed_loop!(deadline, record, |n| {
                    let k = &keys[(n / 2) as usize % keys.len()];
                    if n.is_multiple_of(2) {
                        raw_set(&mut con, k, &value).await;
                    } else {
                        black_box(raw_get(&mut con, k).await);
                    }
                })
            }
        })
    };
    let mut out: Vec<(Vec<Sample>, Vec<Sample>)> =
        stores.iter().map(|_| (Vec::new(), Vec::new())).collect();
    if conc == 1 {
        // One task, every side in turn operation by operation: a single
        // waiting task is at the mercy of where the OS runs it and
        // `redis-server` (rounds of the same side differ by up to 40 %),
        // and alternating puts every side in the same place.
        let alternate = |dur: Duration| {
            let (stores, raw, keys, value) = (
                stores.iter().map(|s| (*s).clone()).collect::<Vec<_>>(),
                raw.clone(),
                keys.clone(),
                value.clone(),
            );
            tokio::spawn(async move { kv_alternating(&stores, raw, &keys, &value, dur).await })
        };
        alternate(cfg.round / 4).await.expect("warm-up");
        for _ in 0..cfg.rounds {
            let samples = alternate(cfg.round * 2).await.expect("a round");
            for ((st, rw), (s, r)) in out.iter_mut().zip(samples) {
                st.push(s);
                rw.push(r);
            }
        }
        return out;
    }
    for i in 0..stores.len() {
        store_round(i, cfg.round / 4).await;
        raw_round(i, cfg.round / 4).await;
    }
    // Five times the rounds, a third as long: the machine's drift cancels
    // better over more, shorter pairs.
    let round = cfg.round / 3;
    for _ in 0..cfg.rounds * 5 {
        for (i, (st, rw)) in out.iter_mut().enumerate() {
            st.push(store_round(i, round).await);
            rw.push(raw_round(i, round).await);
        }
    }
    out
}

/// Workload 8: kv set then get as a user writes it by hand, on both sides:
/// a `format!` key per operation (the store's relative key; for the raw side
/// the whole key, the store's layout spelled out in the `format!`),
/// `serde_json::to_vec` / `from_slice`, one `ConnectionManager` cloned into
/// every task, `SET k v` (or `SET k v PX ms` with `ttl`) then `GET k`
/// through `AsyncCommands`. The store keeps its default deadline. Rounds
/// interleave store and raw; at one task, every operation pair alternates.
async fn user_kv_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
    ttl: bool,
    conc: usize,
) -> (Vec<Sample>, Vec<Sample>) {
    use redis::AsyncCommands;
    // The key layout a user would write by hand for this store's chain.
    let prefix: Arc<str> = {
        let full = store.kv().key("x").expect("key");
        Arc::from(
            full.strip_suffix("x")
                .expect("the layout ends with the key"),
        )
    };
    let value = Arc::new(profile());
    async fn store_pair(store: &BenchStore, t: usize, i: u64, value: &Profile, ttl: bool) {
        let key = format!("user:{t}:{i}");
        if ttl {
            store.kv().set(&key, value).ttl(TTL).await.expect("set");
        } else {
            store.kv().set(&key, value).await.expect("set");
        }
        let v: Option<Profile> = store.kv().get(&key).await.expect("get");
        black_box(v.expect("a value"));
    }
    async fn raw_pair(
        con: &mut ConnectionManager,
        prefix: &str,
        t: usize,
        i: u64,
        value: &Profile,
        ttl: bool,
    ) {
        let key = format!("{prefix}user:{t}:{i}");
        let bytes = serde_json::to_vec(value).expect("encode");
        if ttl {
            let _: () = con.pset_ex(&key, bytes, TTL_MS).await.expect("SET PX");
        } else {
            let _: () = con.set(&key, bytes).await.expect("SET");
        }
        let v: Option<Vec<u8>> = con.get(&key).await.expect("GET");
        let p: Profile = serde_json::from_slice(&v.expect("a value")).expect("decode");
        black_box(p);
    }
    let mut out = (Vec::new(), Vec::new());
    if conc == 1 {
        let mut con = raw.clone();
        let pairs = |dur: Duration, con: &mut ConnectionManager| {
            let (store, prefix, value) = (store.clone(), prefix.clone(), value.clone());
            let mut con = con.clone();
            async move {
                let (mut st, mut rw) = (Sample::default(), Sample::default());
                let deadline = Instant::now() + dur;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    store_pair(&store, 0, i % KEYS_PER_TASK as u64, &value, ttl).await;
                    let t1 = Instant::now();
                    raw_pair(&mut con, &prefix, 0, i % KEYS_PER_TASK as u64, &value, ttl).await;
                    let t2 = Instant::now();
                    for (sample, a, b) in [(&mut st, t0, t1), (&mut rw, t1, t2)] {
                        sample.ops += 2;
                        sample.secs += (b - a).as_secs_f64();
                        sample.lat.push(nanos(b - a));
                    }
                    i += 1;
                }
                (st, rw)
            }
        };
        pairs(cfg.round / 4, &mut con).await;
        for _ in 0..cfg.rounds {
            let (st, rw) = pairs(cfg.round * 2, &mut con).await;
            out.0.push(st);
            out.1.push(rw);
        }
        return out;
    }
    let store_round = |dur: Duration| {
        let (store, value) = (store.clone(), value.clone());
        run_tasks(conc, dur, move |t, deadline| {
            let (store, value) = (store.clone(), value.clone());
            async move {
                closed_loop!(deadline, record, |n| {
                    store_pair(&store, t, n % KEYS_PER_TASK as u64, &value, ttl).await;
                })
            }
        })
    };
    let raw_round = |dur: Duration| {
        let (raw, prefix, value) = (raw.clone(), prefix.clone(), value.clone());
        run_tasks(conc, dur, move |t, deadline| {
            let (mut con, prefix, value) = (raw.clone(), prefix.clone(), value.clone());
            async move {
                closed_loop!(deadline, record, |n| {
                    raw_pair(&mut con, &prefix, t, n % KEYS_PER_TASK as u64, &value, ttl).await;
                })
            }
        })
    };
    store_round(cfg.round / 4).await;
    raw_round(cfg.round / 4).await;
    let round = cfg.round / 3;
    for _ in 0..cfg.rounds * 5 {
        out.0.push(store_round(round).await);
        out.1.push(raw_round(round).await);
    }
    // A pair is two commands.
    for sample in out.0.iter_mut().chain(out.1.iter_mut()) {
        sample.ops *= 2;
    }
    out
}

/// Workload 8's single-command rows: `store_op(t, n)` against `raw_op(con,
/// t, n)` at `conc` tasks, in interleaved rounds.
async fn user_op_workload<S, SF, R, RF>(
    cfg: &Config,
    raw: &ConnectionManager,
    conc: usize,
    store_op: S,
    raw_op: R,
) -> (Vec<Sample>, Vec<Sample>)
where
    S: Fn(usize, u64) -> SF + Clone + Send + Sync + 'static,
    SF: Future<Output = ()> + Send,
    R: Fn(ConnectionManager, usize, u64) -> RF + Clone + Send + Sync + 'static,
    RF: Future<Output = ()> + Send,
{
    let store_round = |dur: Duration| {
        let op = store_op.clone();
        run_tasks(conc, dur, move |t, deadline| {
            let op = op.clone();
            async move {
                closed_loop!(deadline, record, |n| {
                    op(t, n).await;
                })
            }
        })
    };
    let raw_round = |dur: Duration| {
        let (op, raw) = (raw_op.clone(), raw.clone());
        run_tasks(conc, dur, move |t, deadline| {
            let (op, con) = (op.clone(), raw.clone());
            async move {
                closed_loop!(deadline, record, |n| {
                    op(con.clone(), t, n).await;
                })
            }
        })
    };
    store_round(cfg.round / 4).await;
    raw_round(cfg.round / 4).await;
    let mut out = (Vec::new(), Vec::new());
    for _ in 0..cfg.rounds * 5 {
        out.0.push(store_round(cfg.round / 3).await);
        out.1.push(raw_round(cfg.round / 3).await);
    }
    out
}

/// Workload 8's counter row: `INCRBY` on a `format!` key per operation, each
/// task on its own counter.
async fn user_counter_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
    conc: usize,
) -> (Vec<Sample>, Vec<Sample>) {
    use redis::AsyncCommands;
    let full = store.counter().key("x").expect("key");
    let prefix: Arc<str> = Arc::from(full.strip_suffix("x").expect("layout"));
    let store = store.clone();
    user_op_workload(
        cfg,
        raw,
        conc,
        move |t, _n| {
            let store = store.clone();
            async move {
                black_box(
                    store
                        .counter()
                        .increment(&format!("hits:{t}"))
                        .await
                        .expect("increment"),
                );
            }
        },
        move |mut con, t, _n| {
            let prefix = prefix.clone();
            async move {
                let v: i64 = con
                    .incr(format!("{prefix}hits:{t}"), 1)
                    .await
                    .expect("INCRBY");
                black_box(v);
            }
        },
    )
    .await
}

/// Workload 8's stream row: `XADD <stream> MAXLEN ~ 10000 * data <json>` of a
/// small job, every task on one stream, the name a `format!` per operation.
async fn user_append_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
    conc: usize,
) -> (Vec<Sample>, Vec<Sample>) {
    use redis::AsyncCommands;
    use redis::streams::StreamMaxlen;
    let full = store.streams().key("x").expect("key");
    let prefix: Arc<str> = Arc::from(full.strip_suffix("x").expect("layout"));
    let cleanup = prefix.clone();
    let store = store.clone();
    let out = user_op_workload(
        cfg,
        raw,
        conc,
        move |t, n| {
            let store = store.clone();
            async move {
                let job = job(n + t as u64);
                let name = format!("jobs:{}", "user");
                black_box(
                    store
                        .streams()
                        .append(name.as_str(), &job)
                        .max_len(10_000)
                        .approximate()
                        .await
                        .expect("append"),
                );
            }
        },
        move |mut con, t, n| {
            let prefix = prefix.clone();
            async move {
                let bytes = serde_json::to_vec(&job(n + t as u64)).expect("encode");
                let id: String = con
                    .xadd_maxlen(
                        format!("{prefix}jobs:{}", "raw"),
                        StreamMaxlen::Approx(10_000),
                        "*",
                        &[("data", bytes)],
                    )
                    .await
                    .expect("XADD");
                black_box(id);
            }
        },
    )
    .await;
    for name in ["jobs:user", "jobs:raw"] {
        drop_key(raw, &format!("{cleanup}{name}")).await;
    }
    out
}

/// Workloads 1 and 4 at concurrency 1: one task runs a set+get on each
/// store, then the same on raw code and the same keys, in turn, until `dur`
/// has passed; each side's rate is its operations over the time spent in
/// them.
async fn kv_alternating(
    stores: &[BenchStore],
    mut raw: ConnectionManager,
    keys: &[Arc<TaskKeys>],
    value: &Profile,
    dur: Duration,
) -> Vec<(Sample, Sample)> {
    let mut out: Vec<(Sample, Sample)> = stores
        .iter()
        .map(|_| (Sample::default(), Sample::default()))
        .collect();
    let deadline = Instant::now() + dur;
    let mut n = 0usize;
    while Instant::now() < deadline {
        for (i, store) in stores.iter().enumerate() {
            let (rel, full) = (&keys[i][0].0, &keys[i][0].1);
            let k = n % rel.len();
            let t0 = Instant::now();
            store.kv().set(&rel[k], value).ttl(TTL).await.expect("set");
            let t1 = Instant::now();
            let v: Option<Profile> = store.kv().get(&rel[k]).await.expect("get");
            black_box(v.expect("a value"));
            let t2 = Instant::now();
            raw_set(&mut raw, &full[k], value).await;
            let t3 = Instant::now();
            black_box(raw_get(&mut raw, &full[k]).await);
            let t4 = Instant::now();
            let (st, rw) = &mut out[i];
            for (sample, a, b, c) in [(&mut *st, t0, t1, t2), (&mut *rw, t2, t3, t4)] {
                sample.ops += 2;
                sample.secs += (c - a).as_secs_f64();
                sample.lat.push(nanos(b - a));
                sample.lat.push(nanos(c - b));
            }
        }
        n += 1;
    }
    out
}

/// The baseline's set of workloads 1 and 4: `SET k v PX 600000`.
async fn raw_set(con: &mut ConnectionManager, k: &str, value: &Profile) {
    let bytes = serde_json::to_vec(value).expect("encode");
    redis::cmd("SET")
        .arg(k)
        .arg(bytes)
        .arg("PX")
        .arg(TTL_MS)
        .query_async::<()>(con)
        .await
        .expect("SET");
}

/// The baseline's get of workloads 1 and 4: `GET k`, decoded.
async fn raw_get(con: &mut ConnectionManager, k: &str) -> Profile {
    let v: Option<Vec<u8>> = redis::cmd("GET")
        .arg(k)
        .query_async(con)
        .await
        .expect("GET");
    serde_json::from_slice(&v.expect("a value")).expect("decode")
}

/// Workload 2: counter increments, each task on its own counter.
async fn counter_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
    conc: usize,
) -> (Vec<Sample>, Vec<Sample>) {
    let rel: Arc<Vec<String>> = Arc::new((0..conc).map(|t| format!("hits:{t}")).collect());
    let full: Arc<Vec<String>> = Arc::new(
        rel.iter()
            .map(|k| store.counter().key(k).expect("key"))
            .collect(),
    );
    let mut rows = interleave(
        cfg,
        |dur, _| {
            let (store, rel) = (store.clone(), rel.clone());
            async move {
                vec![
                    run_tasks(conc, dur, |t, deadline| {
                        let (store, rel) = (store.clone(), rel.clone());
                        async move {
                            let k = &rel[t];
                            closed_loop!(deadline, record, |_n| {
                                black_box(store.counter().increment(k).await.expect("increment"));
                            })
                        }
                    })
                    .await,
                ]
            }
        },
        |dur, _| {
            let (raw, full) = (raw.clone(), full.clone());
            async move {
                vec![
                    run_tasks(conc, dur, |t, deadline| {
                        let (mut con, full) = (raw.clone(), full.clone());
                        async move {
                            let k = &full[t];
                            closed_loop!(deadline, record, |_n| {
                                let v: i64 = redis::cmd("INCRBY")
                                    .arg(k)
                                    .arg(1)
                                    .query_async(&mut con)
                                    .await
                                    .expect("INCRBY");
                                black_box(v);
                            })
                        }
                    })
                    .await,
                ]
            }
        },
    )
    .await;
    rows.remove(0)
}

const BATCH: usize = 1000;

/// Workload 3: a batch set of 1,000 entries with TTLs, then a batch get of
/// them, in a loop on one task. Two rows: set and get, one batch an op.
async fn batch_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
) -> Vec<(Vec<Sample>, Vec<Sample>)> {
    let rel: Arc<Vec<String>> = Arc::new((0..BATCH).map(|i| format!("batch:{i}")).collect());
    let full: Arc<Vec<String>> = Arc::new(
        rel.iter()
            .map(|k| store.kv().key(k).expect("key"))
            .collect(),
    );
    let value = Arc::new(profile());
    interleave(
        cfg,
        |dur, _| {
            let (store, rel, value) = (store.clone(), rel.clone(), value.clone());
            async move {
                let set = run_tasks(1, dur / 2, |_, deadline| {
                    let (store, rel, value) = (store.clone(), rel.clone(), value.clone());
                    async move {
                        closed_loop!(deadline, record, |_n| {
                            store
                                .batch()
                                .set(rel.iter().map(|k| BatchEntry::new(k, &*value).ttl(TTL)))
                                .await
                                .expect("batch set");
                        })
                    }
                })
                .await;
                let get = run_tasks(1, dur / 2, |_, deadline| {
                    let (store, rel) = (store.clone(), rel.clone());
                    async move {
                        closed_loop!(deadline, record, |_n| {
                            let v: Vec<Option<Profile>> =
                                store.batch().get(&rel).await.expect("batch get");
                            assert_eq!(v.len(), BATCH);
                            black_box(v);
                        })
                    }
                })
                .await;
                vec![set, get]
            }
        },
        |dur, _| {
            let (raw, full, value) = (raw.clone(), full.clone(), value.clone());
            async move {
                let set = run_tasks(1, dur / 2, |_, deadline| {
                    let (mut con, full, value) = (raw.clone(), full.clone(), value.clone());
                    async move {
                        closed_loop!(deadline, record, |_n| {
                            let mut pipe = redis::pipe();
                            pipe.atomic();
                            for k in full.iter() {
                                let bytes = serde_json::to_vec(&*value).expect("encode");
                                pipe.cmd("SET")
                                    .arg(k)
                                    .arg(bytes)
                                    .arg("PX")
                                    .arg(TTL_MS)
                                    .ignore();
                            }
                            pipe.query_async::<()>(&mut con).await.expect("MULTI/EXEC");
                        })
                    }
                })
                .await;
                let get = run_tasks(1, dur / 2, |_, deadline| {
                    let (mut con, full) = (raw.clone(), full.clone());
                    async move {
                        closed_loop!(deadline, record, |_n| {
                            let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                                .arg(&*full)
                                .query_async(&mut con)
                                .await
                                .expect("MGET");
                            let v: Vec<Option<Profile>> = raw
                                .into_iter()
                                .map(|b| b.map(|b| serde_json::from_slice(&b).expect("decode")))
                                .collect();
                            assert_eq!(v.len(), BATCH);
                            black_box(v);
                        })
                    }
                })
                .await;
                vec![set, get]
            }
        },
    )
    .await
}

const SUBSCRIBERS: usize = 100;
/// How far (in messages) the publisher may run ahead of the slowest
/// subscriber: well under the subscriber capacity (1024), so nobody lags.
const WINDOW: u64 = 512;

#[repr(align(64))]
#[derive(Default)]
struct Padded(AtomicU64);

/// The subscribers' progress, which the publisher watches.
struct Progress {
    seen: Vec<Padded>,
    notify: Notify,
    /// Publish-to-receipt latencies seen by subscriber 0.
    lat: Mutex<Vec<u32>>,
    errors: AtomicU64,
    /// Messages published so far.
    published: AtomicU64,
}

impl Progress {
    fn new() -> Arc<Progress> {
        Arc::new(Progress {
            seen: (0..SUBSCRIBERS).map(|_| Padded::default()).collect(),
            notify: Notify::new(),
            lat: Mutex::new(Vec::new()),
            errors: AtomicU64::new(0),
            published: AtomicU64::new(0),
        })
    }

    fn min_seen(&self) -> u64 {
        self.seen
            .iter()
            .map(|p| p.0.load(Ordering::Acquire))
            .min()
            .unwrap_or(0)
    }

    /// A subscriber received one more message (or error).
    fn received(&self, i: usize, sent_ns: Option<u64>) {
        if i == 0
            && let Some(sent) = sent_ns
        {
            let lat = now_ns().saturating_sub(sent);
            self.lat
                .lock()
                .expect("lat")
                .push(u32::try_from(lat).unwrap_or(u32::MAX));
        }
        let seen = self.seen[i].0.fetch_add(1, Ordering::AcqRel) + 1;
        if seen.is_multiple_of(16) {
            self.notify.notify_one();
        }
    }

    /// Waits until every subscriber has seen at least `at_least` messages.
    async fn wait_for(&self, at_least: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.min_seen() >= at_least {
                return;
            }
            // Notified every 16 messages; the timeout covers the tail.
            let _ = tokio::time::timeout(Duration::from_millis(1), notified).await;
        }
    }
}

/// How many publishes the publisher keeps in flight (pipelined on its
/// connection, in order).
const IN_FLIGHT: usize = 32;

/// One round of workload 5: publish for `dur` within the window, up to
/// [`IN_FLIGHT`] publishes at a time, then wait until every subscriber has
/// everything. Rate: events delivered (received and decoded by a subscriber)
/// per second.
async fn publish_round<F, Fut>(dur: Duration, progress: &Progress, mut publish: F) -> Sample
where
    F: FnMut(Tick) -> Fut,
    Fut: Future<Output = ()>,
{
    progress.lat.lock().expect("lat").clear();
    let start = Instant::now();
    let deadline = start + dur;
    let first = progress.published.load(Ordering::Relaxed);
    let mut published = first;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    while Instant::now() < deadline {
        if published - progress.min_seen() >= WINDOW {
            progress.wait_for(published - WINDOW / 2).await;
        }
        in_flight.push(publish(Tick {
            seq: published,
            sent_ns: now_ns(),
            source: "bench-publisher".into(),
        }));
        published += 1;
        if in_flight.len() >= IN_FLIGHT {
            in_flight.next().await;
        }
    }
    while in_flight.next().await.is_some() {}
    progress.published.store(published, Ordering::Relaxed);
    progress.wait_for(published).await;
    let secs = start.elapsed().as_secs_f64();
    let lat = std::mem::take(&mut *progress.lat.lock().expect("lat"));
    Sample {
        ops: (published - first) * SUBSCRIBERS as u64,
        secs,
        lat,
    }
}

/// Workload 5: one publisher, 100 local subscribers of one channel.
async fn pubsub_workload(
    cfg: &Config,
    store: &BenchStore,
    raw: &ConnectionManager,
    url: &str,
) -> (Vec<Sample>, Vec<Sample>) {
    // The store: 100 subscriptions of one channel (one Redis subscription,
    // each message decoded once, shared).
    let store_progress = Progress::new();
    let mut store_tasks = Vec::new();
    for i in 0..SUBSCRIBERS {
        let mut sub = store
            .events()
            .subscribe(&bench::TICK)
            .await
            .expect("subscribe");
        let progress = store_progress.clone();
        store_tasks.push(tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                match item {
                    Ok(ev) => progress.received(i, Some(black_box(&ev.data).sent_ns)),
                    Err(_) => {
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                        progress.received(i, None);
                    }
                }
            }
        }));
    }

    // Raw: one RESP3 subscription whose pushes go to a broadcast channel;
    // each of the 100 receivers decodes every message itself, as hand-written
    // fan-out does.
    const RAW_CHANNEL: &str = "raw:bench:tick";
    let (tx, _) = broadcast::channel::<Bytes>(1024);
    let raw_progress = Progress::new();
    let mut raw_tasks = Vec::new();
    for i in 0..SUBSCRIBERS {
        let mut rx = tx.subscribe();
        let progress = raw_progress.clone();
        raw_tasks.push(tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(bytes) => match serde_json::from_slice::<Tick>(&bytes) {
                        Ok(tick) => progress.received(i, Some(black_box(&tick).sent_ns)),
                        Err(_) => {
                            progress.errors.fetch_add(1, Ordering::Relaxed);
                            progress.received(i, None);
                        }
                    },
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        progress.errors.fetch_add(n, Ordering::Relaxed);
                        for _ in 0..n {
                            progress.received(i, None);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }));
    }
    let mut sub_con = {
        let info = url.into_connection_info().expect("url");
        let tcp = info.tcp_settings().clone().set_nodelay(true);
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client =
            Client::open(info.set_tcp_settings(tcp).set_redis_settings(settings)).expect("client");
        let sink = tx.clone();
        let config = ConnectionManagerConfig::new()
            .set_automatic_resubscription()
            .set_push_sender(move |push: PushInfo| {
                if push.kind == PushKind::Message {
                    let mut data = push.data;
                    if let (2, Some(Value::BulkString(payload))) = (data.len(), data.pop()) {
                        let _ = sink.send(Bytes::from(payload));
                    }
                }
                Ok::<(), redis::aio::SendError>(())
            });
        ConnectionManager::new_with_config(client, config)
            .await
            .expect("pubsub connection")
    };
    sub_con.subscribe(RAW_CHANNEL).await.expect("SUBSCRIBE");

    let mut rows = interleave(
        cfg,
        |dur, _| {
            let store = store.clone();
            let progress = store_progress.clone();
            async move {
                let sample = publish_round(dur, &progress, |tick| {
                    let store = store.clone();
                    async move {
                        store
                            .events()
                            .publish(&bench::TICK, &tick)
                            .await
                            .expect("publish");
                    }
                })
                .await;
                vec![sample]
            }
        },
        |dur, _| {
            let con = raw.clone();
            let progress = raw_progress.clone();
            async move {
                let sample = publish_round(dur, &progress, |tick| {
                    let bytes = serde_json::to_vec(&tick).expect("encode");
                    let mut con = con.clone();
                    async move {
                        let _: u64 = redis::cmd("PUBLISH")
                            .arg(RAW_CHANNEL)
                            .arg(bytes)
                            .query_async(&mut con)
                            .await
                            .expect("PUBLISH");
                    }
                })
                .await;
                vec![sample]
            }
        },
    )
    .await;
    let errors = (
        store_progress.errors.load(Ordering::Relaxed),
        raw_progress.errors.load(Ordering::Relaxed),
    );
    if errors != (0, 0) {
        println!(
            "  (pub/sub errors or lost messages: store {}, raw {})",
            errors.0, errors.1
        );
    }
    drop(sub_con);
    drop(tx);
    for t in store_tasks.into_iter().chain(raw_tasks) {
        t.abort();
    }
    rows.remove(0)
}

const STREAM_ENTRIES: u64 = 100_000;
const STREAM_TASKS: usize = 4;
const STREAM_COUNT: usize = 100;
const GROUP: &str = "workers";
/// The stream of the profiled group read (`BENCH_PROFILE=redis-xread-*`).
const XREAD_STREAM: &str = "profiled";

fn job(i: u64) -> Job {
    Job {
        id: i,
        image: format!("uploads/img-{i}.png"),
        width: 1920,
        height: 1080,
    }
}

/// Workload 6, store side of one round: append 100k entries (4 tasks), then 4
/// consumers of one group read (count 100) and ack until the stream is
/// drained. Two samples: appends, and entries read and acked.
async fn streams_store_round(
    store: &BenchStore,
    raw: &ConnectionManager,
    name: String,
) -> Vec<Sample> {
    store
        .streams()
        .group(GROUP, "c0")
        .ensure(name.as_str())
        .await
        .expect("ensure");
    let name = Arc::new(name);
    let start = Instant::now();
    let handles: Vec<_> = (0..STREAM_TASKS as u64)
        .map(|t| {
            let (store, name) = (store.clone(), name.clone());
            tokio::spawn(async move {
                let per = STREAM_ENTRIES / STREAM_TASKS as u64;
                let mut lat = Vec::with_capacity(per as usize);
                for i in 0..per {
                    let t0 = Instant::now();
                    let message = job(t * per + i);
                    store
                        .streams()
                        .append(name.as_str(), &message)
                        .await
                        .expect("append");
                    lat.push(nanos(t0.elapsed()));
                }
                (per, lat)
            })
        })
        .collect();
    let append = gather(handles, start).await;
    assert_eq!(append.ops, STREAM_ENTRIES, "every entry appended");

    let start = Instant::now();
    let handles: Vec<_> = (0..STREAM_TASKS)
        .map(|c| {
            let (store, name) = (store.clone(), name.clone());
            tokio::spawn(async move {
                let consumer = format!("c{c}");
                let group = store.streams();
                let group = group.group(GROUP, &consumer);
                let (mut n, mut lat) = (0u64, Vec::new());
                loop {
                    let t0 = Instant::now();
                    let entries = group
                        .read::<Job>(name.as_str())
                        .count(STREAM_COUNT)
                        .await
                        .expect("read");
                    if entries.is_empty() {
                        break;
                    }
                    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
                    for e in &entries {
                        black_box(e.data.as_ref().expect("a job"));
                    }
                    group.ack(name.as_str(), &ids).await.expect("ack");
                    n += entries.len() as u64;
                    lat.push(nanos(t0.elapsed()));
                }
                (n, lat)
            })
        })
        .collect();
    let read = gather(handles, start).await;
    assert_eq!(read.ops, STREAM_ENTRIES, "every entry read once");
    let key = store.streams().key(name.as_str()).expect("key");
    drop_key(raw, &key).await;
    vec![append, read]
}

/// Workload 6, raw side: XADD, XREADGROUP, XACK.
async fn streams_raw_round(raw: &ConnectionManager, key: String) -> Vec<Sample> {
    let mut con = raw.clone();
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&key)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut con)
        .await
        .expect("XGROUP CREATE");
    let key = Arc::new(key);
    let start = Instant::now();
    let handles: Vec<_> = (0..STREAM_TASKS as u64)
        .map(|t| {
            let (mut con, key) = (raw.clone(), key.clone());
            tokio::spawn(async move {
                let per = STREAM_ENTRIES / STREAM_TASKS as u64;
                let mut lat = Vec::with_capacity(per as usize);
                for i in 0..per {
                    let t0 = Instant::now();
                    let bytes = serde_json::to_vec(&job(t * per + i)).expect("encode");
                    let id: String = redis::cmd("XADD")
                        .arg(&*key)
                        .arg("*")
                        .arg("data")
                        .arg(bytes)
                        .query_async(&mut con)
                        .await
                        .expect("XADD");
                    black_box(id);
                    lat.push(nanos(t0.elapsed()));
                }
                (per, lat)
            })
        })
        .collect();
    let append = gather(handles, start).await;
    assert_eq!(append.ops, STREAM_ENTRIES, "every entry appended");

    let start = Instant::now();
    let handles: Vec<_> = (0..STREAM_TASKS)
        .map(|c| {
            let (mut con, key) = (raw.clone(), key.clone());
            tokio::spawn(async move {
                let consumer = format!("c{c}");
                let (mut n, mut lat) = (0u64, Vec::new());
                loop {
                    let t0 = Instant::now();
                    let read = raw_read_ack(&mut con, &key, &consumer).await;
                    if read == 0 {
                        break;
                    }
                    n += read as u64;
                    lat.push(nanos(t0.elapsed()));
                }
                (n, lat)
            })
        })
        .collect();
    let read = gather(handles, start).await;
    assert_eq!(read.ops, STREAM_ENTRIES, "every entry read once");
    drop_key(raw, &key).await;
    vec![append, read]
}

/// Workload 6's raw group read, also profiled (`redis-xread-raw`): one
/// `XREADGROUP COUNT 100` as `consumer`, each entry decoded, then one
/// `XACK` of them; how many entries it read.
async fn raw_read_ack(con: &mut ConnectionManager, key: &str, consumer: &str) -> usize {
    let reply: StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(STREAM_COUNT)
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query_async(con)
        .await
        .expect("XREADGROUP");
    let entries: Vec<_> = reply.keys.into_iter().flat_map(|k| k.ids).collect();
    if entries.is_empty() {
        return 0;
    }
    let mut ids = Vec::with_capacity(entries.len());
    for e in &entries {
        let Some(Value::BulkString(data)) = e.map.get("data") else {
            panic!("an entry without data");
        };
        let job: Job = serde_json::from_slice(data).expect("decode");
        black_box(job);
        ids.push(e.id.as_str());
    }
    let acked: u64 = redis::cmd("XACK")
        .arg(key)
        .arg(GROUP)
        .arg(&ids)
        .query_async(con)
        .await
        .expect("XACK");
    black_box(acked);
    entries.len()
}

/// One sample of tasks that each return how many operations they did and
/// their latencies, started at `start`.
async fn gather(handles: Vec<tokio::task::JoinHandle<(u64, Vec<u32>)>>, start: Instant) -> Sample {
    let mut sample = Sample::default();
    for h in handles {
        let (n, lat) = h.await.expect("a benchmark task panicked");
        sample.ops += n;
        sample.lat.extend(lat);
    }
    sample.secs = start.elapsed().as_secs_f64();
    sample
}

async fn drop_key(raw: &ConnectionManager, key: &str) {
    let mut con = raw.clone();
    let _: u64 = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut con)
        .await
        .expect("DEL");
}

/// The baseline of workload 7: a `Mutex<HashMap>` of encoded values.
type Map = Arc<Mutex<HashMap<String, Bytes>>>;

fn map_set(map: &Map, key: &str, value: &Profile) {
    let bytes = Bytes::from(serde_json::to_vec(value).expect("encode"));
    let mut map = map.lock().expect("map");
    // No allocation for a key that exists, as in the memory adapter.
    match map.get_mut(key) {
        Some(slot) => *slot = bytes,
        None => {
            map.insert(key.to_owned(), bytes);
        }
    }
}

fn map_get(map: &Map, key: &str) -> Option<Profile> {
    let bytes = map.lock().expect("map").get(key).cloned();
    bytes.map(|b| serde_json::from_slice(&b).expect("decode"))
}

/// Workload 7: the memory adapter against a `Mutex<HashMap>`, get or set.
async fn memory_workload(cfg: &Config, get: bool, conc: usize) -> (Vec<Sample>, Vec<Sample>) {
    let store: BenchStore = Store::builder()
        .adapter(MemoryAdapter::new())
        .service(SERVICE)
        .scopes::<Tenant>()
        .build()
        .expect("store")
        .into_dynamic();
    let map: Map = Arc::default();
    let keys = Arc::new(kv_keys(&store, conc, "mem"));
    let value = Arc::new(profile());
    for (rel, full) in keys.iter() {
        for (r, f) in rel.iter().zip(full) {
            store.kv().set(r, &*value).await.expect("set");
            map_set(&map, f, &value);
        }
    }
    let yield_now = conc > 1;
    let mut rows = interleave(
        cfg,
        |dur, _| {
            let (store, keys, value) = (store.clone(), keys.clone(), value.clone());
            async move {
                vec![
                    run_tasks(conc, dur, |t, deadline| {
                        let (store, keys, value) = (store.clone(), keys.clone(), value.clone());
                        async move {
                            let keys = &keys[t].0;
                            closed_loop!(deadline, fast, yield_now, |n| {
                                let k = &keys[n as usize % KEYS_PER_TASK];
                                if get {
                                    let v: Option<Profile> = store.kv().get(k).await.expect("get");
                                    black_box(v);
                                } else {
                                    store.kv().set(k, &*value).await.expect("set");
                                }
                            })
                        }
                    })
                    .await,
                ]
            }
        },
        |dur, _| {
            let (map, keys, value) = (map.clone(), keys.clone(), value.clone());
            async move {
                vec![
                    run_tasks(conc, dur, |t, deadline| {
                        let (map, keys, value) = (map.clone(), keys.clone(), value.clone());
                        async move {
                            let keys = &keys[t].1;
                            closed_loop!(deadline, fast, yield_now, |n| {
                                let k = &keys[n as usize % KEYS_PER_TASK];
                                if get {
                                    black_box(map_get(&map, k));
                                } else {
                                    map_set(&map, k, &value);
                                }
                            })
                        }
                    })
                    .await,
                ]
            }
        },
    )
    .await;
    rows.remove(0)
}

// ---------------------------------------------------------------- profile mode

/// The function callgrind collects in (`--toggle-collect='*measured*'`).
#[inline(never)]
fn measured<F: Future>(rt: &tokio::runtime::Runtime, body: F) -> F::Output {
    rt.block_on(body)
}

fn profile_mode(case: &str) {
    let ops: u64 = std::env::var("BENCH_PROFILE_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (what, side) = case.rsplit_once('-').expect("<case>-store or <case>-raw");
    let store_side = match side {
        "store" => true,
        "raw" => false,
        other => panic!("unknown side {other}"),
    };
    let redis = what.starts_with("redis").then(support::RedisServer::start);
    let value = profile();
    let depth = if what.ends_with("-d3") { 3 } else { 0 };
    let map: Map = Arc::default();
    let (store, raw) = rt.block_on(async {
        let store = match &redis {
            Some(server) => redis_store(&server.url()).await,
            None => Store::builder()
                .adapter(MemoryAdapter::new())
                .service(SERVICE)
                .scopes::<Tenant>()
                .build()
                .expect("store")
                .into_dynamic(),
        };
        let raw = match &redis {
            Some(server) => Some(raw_manager(&server.url()).await),
            None => None,
        };
        (scoped(&store, depth), raw)
    });
    let keys = kv_keys(&store, 1, "prof").remove(0);
    let batch_rel: Vec<String> = (0..BATCH).map(|i| format!("batch:{i}")).collect();
    let batch_full: Vec<String> = batch_rel
        .iter()
        .map(|k| store.kv().key(k).expect("key"))
        .collect();
    let counter_rel = "hits:prof";
    let counter_full = store.counter().key(counter_rel).expect("key");
    let xread_raw_key = &format!("{}:raw", store.streams().key(XREAD_STREAM).expect("key"));
    // One loop for every case; `n` operations.
    let (store, keys, value, map, raw, counter_full, batch_rel, batch_full) = (
        &store,
        &keys,
        &value,
        &map,
        &raw,
        &counter_full,
        &batch_rel,
        &batch_full,
    );
    let what = what.trim_end_matches("-d3");
    let run = move |n: u64| async move {
        let mut con = raw.clone();
        for i in 0..n {
            let idx = i as usize % KEYS_PER_TASK;
            let (rel, full) = (&keys.0[idx], &keys.1[idx]);
            match (what, store_side) {
                ("mem-get" | "redis-get", true) => {
                    let v: Option<Profile> = store.kv().get(rel).await.expect("get");
                    black_box(v);
                }
                ("mem-set", true) => {
                    store.kv().set(rel, value).await.expect("set");
                }
                ("redis-set", true) => {
                    store.kv().set(rel, value).ttl(TTL).await.expect("set");
                }
                ("redis-mset", true) => {
                    store
                        .batch()
                        .set(batch_rel.iter().map(|k| BatchEntry::new(k, value).ttl(TTL)))
                        .await
                        .expect("batch set");
                }
                ("redis-mget", true) => {
                    let v: Vec<Option<Profile>> =
                        store.batch().get(batch_rel).await.expect("batch get");
                    black_box(v);
                }
                ("redis-mset", false) => {
                    let con = con.as_mut().expect("raw");
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    for k in batch_full.iter() {
                        let bytes = serde_json::to_vec(value).expect("encode");
                        pipe.cmd("SET")
                            .arg(k)
                            .arg(bytes)
                            .arg("PX")
                            .arg(TTL_MS)
                            .ignore();
                    }
                    pipe.query_async::<()>(con).await.expect("MULTI/EXEC");
                }
                ("redis-mget", false) => {
                    let con = con.as_mut().expect("raw");
                    let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                        .arg(batch_full)
                        .query_async(con)
                        .await
                        .expect("MGET");
                    let v: Vec<Option<Profile>> = raw
                        .into_iter()
                        .map(|b| b.map(|b| serde_json::from_slice(&b).expect("decode")))
                        .collect();
                    black_box(v);
                }
                ("redis-xread", true) => {
                    let group = store.streams();
                    let group = group.group(GROUP, "c0");
                    let entries = group
                        .read::<Job>(XREAD_STREAM)
                        .count(STREAM_COUNT)
                        .await
                        .expect("read");
                    assert_eq!(entries.len(), STREAM_COUNT, "a full page");
                    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
                    for e in &entries {
                        black_box(e.data.as_ref().expect("a job"));
                    }
                    group.ack(XREAD_STREAM, &ids).await.expect("ack");
                }
                ("redis-xread", false) => {
                    let con = con.as_mut().expect("raw");
                    let read = raw_read_ack(con, xread_raw_key, "c0").await;
                    assert_eq!(read, STREAM_COUNT, "a full page");
                }
                ("redis-incr", true) => {
                    black_box(store.counter().increment(counter_rel).await.expect("incr"));
                }
                ("mem-get", false) => {
                    black_box(map_get(map, full));
                }
                ("mem-set", false) => map_set(map, full, value),
                ("redis-get", false) => {
                    black_box(raw_get(con.as_mut().expect("raw"), full).await);
                }
                ("redis-set", false) => raw_set(con.as_mut().expect("raw"), full, value).await,
                ("redis-incr", false) => {
                    let con = con.as_mut().expect("raw");
                    let v: i64 = redis::cmd("INCRBY")
                        .arg(counter_full)
                        .arg(1)
                        .query_async(con)
                        .await
                        .expect("INCRBY");
                    black_box(v);
                }
                (other, _) => panic!("unknown case {other}"),
            }
        }
    };
    // A group read takes 100 entries an operation: every one it will read,
    // warm-up included, is appended first, on both sides.
    let xread_warm = 5;
    if what == "redis-xread" {
        rt.block_on(async {
            let store_key = store.streams().key(XREAD_STREAM).expect("key");
            let con = &mut raw.clone().expect("raw");
            for key in [&store_key, xread_raw_key] {
                let _: () = redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(key)
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async(con)
                    .await
                    .expect("XGROUP CREATE");
                let total = (ops + xread_warm) * STREAM_COUNT as u64;
                for first in (0..total).step_by(1000) {
                    let mut pipe = redis::pipe();
                    for i in first..(first + 1000).min(total) {
                        let bytes = serde_json::to_vec(&job(i)).expect("encode");
                        pipe.cmd("XADD")
                            .arg(key)
                            .arg("*")
                            .arg("data")
                            .arg(bytes)
                            .ignore();
                    }
                    pipe.query_async::<()>(con).await.expect("XADD");
                }
            }
        });
        rt.block_on(run(xread_warm));
    }
    // Every key exists (for gets), then a warm-up outside the measurement.
    rt.block_on(async {
        for (rel, full) in keys.0.iter().zip(&keys.1) {
            store.kv().set(rel, value).ttl(TTL).await.expect("set");
            map_set(map, full, value);
        }
        if what.contains("-m") {
            for k in batch_rel {
                store.kv().set(k, value).ttl(TTL).await.expect("set");
            }
        }
    });
    if what != "redis-xread" {
        rt.block_on(run(if what.contains("-m") { 20 } else { 1_000 }));
    }
    {
        use std::future::IntoFuture;
        let (kv, counter) = (store.kv(), store.counter());
        let get = kv.get::<Profile>("x");
        let set = kv.set("x", value).into_future();
        let incr = counter.increment("x").into_future();
        println!(
            "future sizes: kv get {} B, kv set {} B (boxed inside, except on memory), counter increment {} B (boxed)",
            std::mem::size_of_val(&get),
            std::mem::size_of_val(&set),
            std::mem::size_of_val(&*incr)
        );
    }
    // `BENCH_PROFILE_TASKS`: that many loops at once, so that commands are
    // pipelined on the connection as they are under load.
    let tasks: u64 = std::env::var("BENCH_PROFILE_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = Instant::now();
    measured(
        &rt,
        futures::future::join_all((0..tasks).map(|_| run(ops / tasks))),
    );
    let secs = start.elapsed().as_secs_f64();
    println!("profile {case}: {ops} ops in {secs:.3} s");
    drop(rt);
    drop(redis);
}

// ---------------------------------------------------------------- main

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(unknown)".into())
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "(unknown)".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    println!("machine: nproc {} ({cpu})", command_line("nproc", &[]));
    println!(
        "redis-server: {}",
        command_line("redis-server", &["--version"])
    );
    println!("rustc: {}", command_line(&rustc, &["--version"]));
    println!("tokio: multi-thread runtime, 2 workers; redis crate 1.x, ConnectionManager");
}

fn main() {
    if let Ok(case) = std::env::var("BENCH_PROFILE") {
        profile_mode(&case);
        return;
    }
    let cfg = Config::from_env();
    epoch();
    machine();
    println!(
        "rounds: {} per side, interleaved (store, baseline, ...), {} ms each, after one warm-up round each (workloads 1 and 4: see BENCHMARKS.md)",
        cfg.rounds,
        cfg.round.as_millis()
    );
    let started = Instant::now();
    let server = support::RedisServer::start();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(run_all(&cfg, &url));
    drop(rt);
    drop(server);

    println!();
    println!("{HEADER}");
    println!("{RULE}");
    for row in &rows {
        println!("{}", line(row));
    }
    println!();
    targets(&rows);
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
}

async fn run_all(cfg: &Config, url: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let push = |rows: &mut Vec<Row>, row: Row| {
        if rows.is_empty() {
            println!("{HEADER}");
            println!("{RULE}");
        }
        println!("{}", line(&row));
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            let r: Vec<String> = row.ratios().iter().map(|r| format!("{r:.3}")).collect();
            println!("    per-round ratios: {}", r.join(" "));
            let rates = |side: &[Sample]| {
                let r: Vec<String> = side.iter().map(|s| human(s.rate())).collect();
                r.join(" ")
            };
            println!("    per-round store: {}", rates(&row.store));
            println!("    per-round baseline: {}", rates(&row.raw));
        }
        rows.push(row);
    };
    let needs_redis = (1..=6).chain([8]).any(|w| cfg.wants(w));
    let (store, raw) = if needs_redis {
        (Some(redis_store(url).await), Some(raw_manager(url).await))
    } else {
        (None, None)
    };
    if let (Some(store), Some(raw)) = (&store, &raw) {
        let kv: Vec<(u32, usize, BenchStore)> = [(1, 0), (4, 3)]
            .into_iter()
            .filter(|(workload, _)| cfg.wants(*workload))
            .map(|(workload, depth)| (workload, depth, scoped(store, depth)))
            .collect();
        for conc in [1, 64, 256] {
            if kv.is_empty() {
                break;
            }
            let stores: Vec<&BenchStore> = kv.iter().map(|(_, _, s)| s).collect();
            let results = kv_workload(cfg, &stores, raw, conc).await;
            for ((workload, depth, _), (st, rw)) in kv.iter().zip(results) {
                let name = if *depth == 0 {
                    "kv set+get (SET PX / GET)".to_owned()
                } else {
                    "kv set+get, scoped 3 deep".to_owned()
                };
                push(
                    &mut rows,
                    Row {
                        workload: *workload,
                        name,
                        conc: conc.to_string(),
                        unit: "cmd",
                        store: st,
                        raw: rw,
                        target: 0.95,
                    },
                );
            }
        }
        if cfg.wants(2) {
            let (st, rw) = counter_workload(cfg, store, raw, 64).await;
            push(
                &mut rows,
                Row {
                    workload: 2,
                    name: "counter increment (INCRBY)".into(),
                    conc: "64".into(),
                    unit: "incr",
                    store: st,
                    raw: rw,
                    target: 0.95,
                },
            );
        }
        if cfg.wants(3) {
            let mut out = batch_workload(cfg, store, raw).await.into_iter();
            let (st, rw) = out.next().expect("set");
            push(
                &mut rows,
                Row {
                    workload: 3,
                    name: "batch set 1,000 with TTLs (MULTI/EXEC SET PX)".into(),
                    conc: "1".into(),
                    unit: "batch",
                    store: st,
                    raw: rw,
                    target: 0.95,
                },
            );
            let (st, rw) = out.next().expect("get");
            push(
                &mut rows,
                Row {
                    workload: 3,
                    name: "batch get 1,000 (MGET)".into(),
                    conc: "1".into(),
                    unit: "batch",
                    store: st,
                    raw: rw,
                    target: 0.95,
                },
            );
        }
        if cfg.wants(5) {
            let (st, rw) = pubsub_workload(cfg, store, raw, url).await;
            push(
                &mut rows,
                Row {
                    workload: 5,
                    name: "pub/sub, 1 publisher → 100 subscribers".into(),
                    conc: "100".into(),
                    unit: "event",
                    store: st,
                    raw: rw,
                    target: 1.0,
                },
            );
        }
        if cfg.wants(6) {
            let mut out = interleave(
                cfg,
                |_, round| streams_store_round(store, raw, format!("jobs:{round}")),
                |_, round| streams_raw_round(raw, format!("raw:jobs:{round}")),
            )
            .await
            .into_iter();
            let (st, rw) = out.next().expect("append");
            push(
                &mut rows,
                Row {
                    workload: 6,
                    name: "stream append 100k (XADD)".into(),
                    conc: "4".into(),
                    unit: "entry",
                    store: st,
                    raw: rw,
                    target: 0.95,
                },
            );
            let (st, rw) = out.next().expect("read");
            push(
                &mut rows,
                Row {
                    workload: 6,
                    name: "stream group read 100 + ack (XREADGROUP/XACK)".into(),
                    conc: "4".into(),
                    unit: "entry",
                    store: st,
                    raw: rw,
                    target: 0.95,
                },
            );
        }
    }
    if let (Some(store), Some(raw), true) = (&store, &raw, cfg.wants(8)) {
        for depth in [0, 3] {
            let scoped = scoped(store, depth);
            for ttl in [false, true] {
                for conc in [1, 64, 256].into_iter().filter(|c| cfg.wants_conc(*c)) {
                    let (st, rw) = user_kv_workload(cfg, &scoped, raw, ttl, conc).await;
                    let name = format!(
                        "kv set+get as users write it{}{}",
                        if ttl { ", TTL" } else { "" },
                        if depth == 3 { ", 3 deep" } else { "" }
                    );
                    push(
                        &mut rows,
                        Row {
                            workload: 8,
                            name,
                            conc: conc.to_string(),
                            unit: "cmd",
                            store: st,
                            raw: rw,
                            target: 0.97,
                        },
                    );
                }
            }
        }
        for conc in [1, 64, 256].into_iter().filter(|c| cfg.wants_conc(*c)) {
            let (st, rw) = user_counter_workload(cfg, store, raw, conc).await;
            push(
                &mut rows,
                Row {
                    workload: 8,
                    name: "counter increment as users write it".into(),
                    conc: conc.to_string(),
                    unit: "incr",
                    store: st,
                    raw: rw,
                    target: 0.97,
                },
            );
            let (st, rw) = user_append_workload(cfg, store, raw, conc).await;
            push(
                &mut rows,
                Row {
                    workload: 8,
                    name: "stream append as users write it (MAXLEN ~)".into(),
                    conc: conc.to_string(),
                    unit: "xadd",
                    store: st,
                    raw: rw,
                    target: 0.97,
                },
            );
        }
    }
    if cfg.wants(7) {
        for get in [true, false] {
            for conc in [1, 64] {
                let (st, rw) = memory_workload(cfg, get, conc).await;
                let name = if get {
                    "memory kv get vs Mutex<HashMap>"
                } else {
                    "memory kv set vs Mutex<HashMap>"
                };
                push(
                    &mut rows,
                    Row {
                        workload: 7,
                        name: name.into(),
                        conc: conc.to_string(),
                        unit: "op",
                        store: st,
                        raw: rw,
                        // Issue 17: at least 0.8 of a `Mutex<HashMap>`.
                        target: 0.8,
                    },
                );
            }
        }
    }
    if let Some(store) = store {
        let _ = store.close().await;
    }
    rows
}

fn targets(rows: &[Row]) {
    println!("targets (medians of this run):");
    for row in rows {
        let ratio = row.ratio();
        let ok = ratio >= row.target;
        println!(
            "  [{}] {} {} at {}: store/baseline {:.3} (target ≥ {})",
            if ok { "met" } else { "NOT met" },
            row.workload,
            row.name,
            row.conc,
            ratio,
            row.target
        );
        if row.workload == 7 && row.name.contains("get") && row.conc == "1" {
            let (rate, _, _) = rates(&row.store);
            println!(
                "  [{}] 7 memory kv gets at concurrency 1: {} ops/s (target ≥ 1,000,000)",
                if rate >= 1e6 { "met" } else { "NOT met" },
                human(rate)
            );
        }
    }
    for conc in ["1", "64", "256"] {
        let find = |w: u32| rows.iter().find(|r| r.workload == w && r.conc == conc);
        if let (Some(flat), Some(deep)) = (find(1), find(4)) {
            // Each side is against raw code on the same keys, so this is the
            // store's own cost of depth (the longer keys cost Redis and raw
            // code alike). The four sides' rounds interleave (workload 1's
            // store and raw, then workload 4's, in every round), so each
            // side's median rate over all its rounds sees the same machine:
            // one slow round of one side does not move it, where a
            // comparison of four rounds at a time is moved by a slow round
            // of any of the four.
            let rate = |side: &[Sample]| median(side.iter().map(Sample::rate).collect());
            let flat_ratio = rate(&flat.store) / rate(&flat.raw);
            let deep_ratio = rate(&deep.store) / rate(&deep.raw);
            let cost = 1.0 - deep_ratio / flat_ratio;
            println!(
                "  [{}] scope depth 3 vs 0 at {conc}: costs {:+.1}% (store/baseline of median rates {:.3} at depth 3, {:.3} at 0; target ≤ 3%)",
                if cost <= 0.03 { "met" } else { "NOT met" },
                cost * 100.0,
                deep_ratio,
                flat_ratio
            );
        }
    }
}
