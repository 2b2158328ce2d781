//! The store against the TypeScript package it descends from
//! (`@igniter-js/store` 0.1.26 on ioredis, Node), on the same workloads and
//! the same `redis-server`, in interleaved rounds: this store, then the
//! TypeScript package, then this store again, ...; it prints both rates and
//! their ratio (this store over the TypeScript package), medians of the
//! rounds.
//!
//! ```text
//! cargo bench -p igniter-store --bench ts_compare
//! TS_BENCH_ROUNDS=5 TS_BENCH_ROUND_MS=1000 TS_BENCH_ONLY=kv,append cargo bench -p igniter-store --bench ts_compare
//! TS_BENCH_RUNTIME=current cargo bench -p igniter-store --bench ts_compare   # diagnosis: one thread, as Node
//! ```
//!
//! It needs `node` and `npm` (Node 18 or later). The first run installs
//! `@igniter-js/store@0.1.26`, `@igniter-js/telemetry`, `ioredis` and `zod`
//! into a scratch folder (`$TMPDIR/igniter-store-ts-bench`, or
//! `TS_BENCH_DIR`) with `npm install`; the TypeScript side is
//! `benches/ts/compare.mjs`, run once per round. Both sides use one
//! connection's worth of client each (ioredis: one connection; this store:
//! its `RedisAdapter`), JSON values of the same shape, and the same keys
//! relative to their service.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use igniter_store::batch::BatchEntry;
use igniter_store::{RedisAdapter, Store, events};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    email: String,
    active: bool,
    logins: u32,
}

fn profile(i: u64) -> Profile {
    Profile {
        id: i,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        active: true,
        logins: 42,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    id: u64,
    image: String,
    width: u32,
}

fn job(i: u64) -> Job {
    Job {
        id: i,
        image: format!("img-{i}.png"),
        width: 128,
    }
}

/// The payload of `bench::TICK`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    n: u64,
}

events! {
    /// The publish workload's channel.
    pub bench {
        /// One publish.
        tick(Tick),
    }
}

/// One workload at one concurrency, and the ratio the issue asks for.
struct Case {
    workload: &'static str,
    conc: usize,
    what: &'static str,
    target: Option<f64>,
}

const CASES: &[Case] = &[
    Case {
        workload: "kv",
        conc: 1,
        what: "kv set+get",
        target: None,
    },
    Case {
        workload: "kv",
        conc: 64,
        what: "kv set+get",
        target: Some(3.5),
    },
    Case {
        workload: "kv",
        conc: 256,
        what: "kv set+get",
        target: Some(4.0),
    },
    Case {
        workload: "counter",
        conc: 64,
        what: "counter increment",
        target: None,
    },
    Case {
        workload: "batchset",
        conc: 1,
        what: "batch set of 1,000 (no TTL), per key",
        target: Some(2.0),
    },
    Case {
        workload: "batchget",
        conc: 1,
        what: "batch get of 1,000, per key",
        target: None,
    },
    Case {
        workload: "append",
        conc: 1,
        what: "stream append (MAXLEN ~ 10000)",
        target: None,
    },
    Case {
        workload: "append",
        conc: 64,
        what: "stream append (MAXLEN ~ 10000)",
        target: Some(3.5),
    },
    Case {
        workload: "groupread",
        conc: 1,
        what: "group read of 100 + ack, per entry",
        target: Some(2.0),
    },
    Case {
        workload: "publish",
        conc: 1,
        what: "publish, 10 subscribers",
        target: None,
    },
    Case {
        workload: "publish",
        conc: 64,
        what: "publish, 10 subscribers, 64 in flight",
        target: Some(3.0),
    },
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The scratch folder with the TypeScript package installed, and the script.
fn node_side() -> PathBuf {
    let dir = std::env::var_os("TS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("igniter-store-ts-bench"));
    std::fs::create_dir_all(&dir).expect("the scratch folder");
    let installed = dir.join("node_modules/@igniter-js/store/package.json");
    if !installed.exists() {
        println!(
            "installing @igniter-js/store@0.1.26 and ioredis into {}",
            dir.display()
        );
        if !dir.join("package.json").exists() {
            std::fs::write(
                dir.join("package.json"),
                "{\"name\":\"igniter-store-ts-bench\",\"private\":true}\n",
            )
            .expect("package.json");
        }
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .args([
                "@igniter-js/store@0.1.26",
                "@igniter-js/telemetry",
                "ioredis@5",
                "zod@4",
            ])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("npm is needed for this benchmark (apt-get install -y nodejs npm): {e}")
            });
        assert!(status.success(), "npm install failed");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ts/compare.mjs");
    std::fs::copy(&script, dir.join("compare.mjs")).expect("the script");
    dir
}

/// One round of the TypeScript side: its rate.
fn ts_round(dir: &Path, url: &str, case: &Case, round: Duration) -> f64 {
    let out = Command::new("node")
        .arg("compare.mjs")
        .args([
            url,
            case.workload,
            &case.conc.to_string(),
            &round.as_millis().to_string(),
        ])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("node is needed for this benchmark: {e}"));
    assert!(
        out.status.success(),
        "the TypeScript side failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).expect("the TypeScript side's JSON");
    v["ops"].as_f64().unwrap() / v["secs"].as_f64().unwrap()
}

type RsStore = Store;

/// `conc` tasks running `op(t, n)` (which returns the operations it did)
/// until `round` has passed: the rate.
async fn closed_loop<F, Fut>(conc: usize, round: Duration, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let start = Instant::now();
    let deadline = start + round;
    let handles: Vec<_> = (0..conc)
        .map(|t| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    n += op(t, i).await;
                    i += 1;
                }
                n
            })
        })
        .collect();
    let mut ops = 0;
    for h in handles {
        ops += h.await.expect("a task");
    }
    ops as f64 / start.elapsed().as_secs_f64()
}

/// One round of this store's side: its rate.
async fn rs_round(store: &RsStore, case: &Case, round: Duration) -> f64 {
    let conc = case.conc;
    let store = store.clone();
    match case.workload {
        "kv" => {
            closed_loop(conc, round, move |t, n| {
                let store = store.clone();
                async move {
                    let k = format!("user:{t}:{}", n % 16);
                    store.kv().set(&k, &profile(t as u64)).await.expect("set");
                    let v: Option<Profile> = store.kv().get(&k).await.expect("get");
                    assert!(v.is_some());
                    2
                }
            })
            .await
        }
        "counter" => {
            closed_loop(conc, round, move |t, _| {
                let store = store.clone();
                async move {
                    store
                        .counter()
                        .increment(&format!("hits:{t}"))
                        .await
                        .expect("incr");
                    1
                }
            })
            .await
        }
        "batchset" => {
            let entries: Arc<Vec<(String, Profile)>> =
                Arc::new((0..1000).map(|i| (format!("b:{i}"), profile(i))).collect());
            closed_loop(conc, round, move |_, _| {
                let (store, entries) = (store.clone(), entries.clone());
                async move {
                    store
                        .batch()
                        .set(entries.iter().map(|(k, v)| BatchEntry::new(k.as_str(), v)))
                        .await
                        .expect("batch set");
                    1000
                }
            })
            .await
        }
        "batchget" => {
            let keys: Arc<Vec<String>> = Arc::new((0..1000).map(|i| format!("b:{i}")).collect());
            let values: Vec<Profile> = (0..1000).map(profile).collect();
            store
                .batch()
                .set(
                    keys.iter()
                        .enumerate()
                        .map(|(i, k)| BatchEntry::new(k.as_str(), &values[i])),
                )
                .await
                .expect("fill");
            closed_loop(conc, round, move |_, _| {
                let (store, keys) = (store.clone(), keys.clone());
                async move {
                    let values: Vec<Option<Profile>> =
                        store.batch().get(&keys[..]).await.expect("batch get");
                    assert_eq!(values.len(), 1000);
                    1000
                }
            })
            .await
        }
        "append" => {
            closed_loop(conc, round, move |t, n| {
                let store = store.clone();
                async move {
                    store
                        .streams()
                        .append("jobs:rs", &job(n + t as u64))
                        .max_len(10_000)
                        .approximate()
                        .await
                        .expect("append");
                    1
                }
            })
            .await
        }
        "groupread" => {
            let streams = store.streams();
            let group = streams.group("workers", "w1");
            group.ensure("jobs:group").await.expect("ensure");
            for i in 0..200u64 {
                let appends = (0..100).map(|j| {
                    streams
                        .append("jobs:group", &job(i * 100 + j))
                        .into_future()
                });
                futures::future::try_join_all(appends).await.expect("fill");
            }
            let start = Instant::now();
            let deadline = start + round;
            let mut ops = 0u64;
            while Instant::now() < deadline {
                let batch = group
                    .read::<Job>("jobs:group")
                    .count(100)
                    .await
                    .expect("read");
                if batch.is_empty() {
                    break;
                }
                let ids: Vec<&str> = batch.iter().map(|e| e.id.as_str()).collect();
                group.ack("jobs:group", &ids).await.expect("ack");
                ops += batch.len() as u64;
            }
            let rate = ops as f64 / start.elapsed().as_secs_f64();
            let key = streams.key("jobs:group").expect("key");
            store
                .adapter()
                .del(&[key.into_bytes().into()])
                .await
                .expect("del");
            rate
        }
        "publish" => {
            let mut subs = Vec::new();
            for _ in 0..10 {
                subs.push(
                    store
                        .events()
                        .subscribe(&bench::TICK)
                        .await
                        .expect("subscribe"),
                );
            }
            // Drain the subscribers as the TypeScript side's handlers do.
            let drains: Vec<_> = subs
                .into_iter()
                .map(|mut s| tokio::spawn(async move { while s.next().await.is_some() {} }))
                .collect();
            let rate = closed_loop(conc, round, move |_, n| {
                let store = store.clone();
                async move {
                    store
                        .events()
                        .publish(&bench::TICK, &Tick { n })
                        .await
                        .expect("publish");
                    1
                }
            })
            .await;
            for d in drains {
                d.abort();
            }
            rate
        }
        other => panic!("unknown workload {other}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

use std::future::IntoFuture;

fn main() {
    let rounds = env_usize("TS_BENCH_ROUNDS", 3).max(1);
    let round = Duration::from_millis(env_usize("TS_BENCH_ROUND_MS", 1000) as u64);
    let only: Option<Vec<String>> = std::env::var("TS_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|w| w.trim().to_owned()).collect());
    let node = Command::new("node").arg("--version").output();
    let node = match node {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => panic!("node is needed for this benchmark (apt-get install -y nodejs npm)"),
    };
    let dir = node_side();
    let server = support::RedisServer::start();
    let url = server.url();
    println!(
        "node {node}, @igniter-js/store 0.1.26; {rounds} interleaved rounds of {} ms per side (this store, then the TypeScript package)",
        round.as_millis()
    );
    // `TS_BENCH_RUNTIME=current` (diagnosis): this store on a current-thread
    // runtime, as Node runs on one thread: no wake-up crosses threads.
    let rt = if std::env::var("TS_BENCH_RUNTIME").as_deref() == Ok("current") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    };
    let store: RsStore = rt.block_on(async {
        let adapter = RedisAdapter::connect(&url).await.expect("connect");
        Store::builder()
            .adapter(adapter)
            .service("rs-bench")
            .build()
            .expect("store")
    });
    println!();
    println!(
        "| workload | tasks | this store ops/s (median) | TypeScript ops/s (median) | ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut missed = Vec::new();
    let mut server_time = Vec::new();
    for case in CASES {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|w| w == case.workload))
        {
            continue;
        }
        let (mut rs, mut ts) = (Vec::new(), Vec::new());
        server.cli(["CONFIG", "RESETSTAT"]);
        for _ in 0..rounds {
            rs.push(rt.block_on(rs_round(&store, case, round)));
            ts.push(ts_round(&dir, &url, case, round));
        }
        let (r, t) = (median(rs), median(ts));
        let ratio = r / t;
        let target = match case.target {
            Some(goal) => {
                if ratio < goal {
                    missed.push(format!(
                        "{} at {}: {ratio:.2}× (target ≥ {goal}×)",
                        case.what, case.conc
                    ));
                }
                format!("≥ {goal}×")
            }
            None => "-".into(),
        };
        println!(
            "| {} | {} | {} | {} | {ratio:.2}× | {target} |",
            case.what,
            case.conc,
            human(r),
            human(t)
        );
        // What the server spent per call, both sides together: the floor
        // under any client.
        let stats = server.cli(["INFO", "commandstats"]);
        let per_call: Vec<String> = stats
            .lines()
            .filter_map(|l| l.strip_prefix("cmdstat_"))
            .filter_map(|l| {
                let (name, rest) = l.split_once(':')?;
                let usec = rest
                    .split(',')
                    .find_map(|f| f.strip_prefix("usec_per_call="))?;
                let calls = rest.split(',').find_map(|f| f.strip_prefix("calls="))?;
                (calls.parse::<u64>().ok()? > 100).then(|| format!("{name} {usec} µs"))
            })
            .collect();
        server_time.push(format!(
            "{} at {}: {}",
            case.what,
            case.conc,
            per_call.join(", ")
        ));
        server.cli(["FLUSHALL"]);
    }
    println!();
    println!("redis-server time per call (INFO commandstats, both sides):");
    for line in &server_time {
        println!("  {line}");
    }
    println!();
    if missed.is_empty() {
        println!("every target met");
    } else {
        println!("targets not met:\n  {}", missed.join("\n  "));
    }
    rt.block_on(async { store.close().await.ok() });
}
