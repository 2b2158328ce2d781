//! Faults as production has them, each test on a `redis-server` of its own:
//! outages longer than any client's retry budget (1 s, 10 s, 30 s), restarts
//! that lose all data, keys the store did not write in a tenant's space, and
//! `close()` while operations wait.
//!
//! The `redis` client gives up reconnecting after a few seconds of retries;
//! every promise here must hold past that.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use igniter_store::scope::{NoneMissing, ScopePosition};
use igniter_store::{ErrorCode, RedisAdapter, Store, StoreScopes};
use support::RedisServer;

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    Organization,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ping {
    pub n: u64,
}

igniter_store::events! {
    /// Events of the outage tests.
    pub outage {
        ping(Ping),
        pong(Ping),
    }
}

async fn connect(server: &RedisServer) -> Store<Tenant> {
    let adapter = RedisAdapter::connect(&server.url()).await.unwrap();
    Store::builder()
        .adapter(adapter)
        .service("outages")
        .scopes::<Tenant>()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// Runs a blocking std call (stopping, starting the server) off the
/// runtime's workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Stops the server, runs `during` (the outage has begun), waits `outage`,
/// and starts the server again on the same port, empty.
async fn stop_for(server: &Arc<RedisServer>, outage: Duration, during: impl FnOnce()) {
    blocking({
        let server = server.clone();
        move || server.stop()
    })
    .await;
    during();
    tokio::time::sleep(outage).await;
    blocking({
        let server = server.clone();
        move || server.restart()
    })
    .await;
}

/// Waits until `f` holds, for up to `within`.
async fn eventually(within: Duration, what: &str, mut f: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + within;
    while !f().await {
        assert!(Instant::now() < until, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes on `outage::PING` until `sub` yields an event (at most
/// `within`); how many gap errors it yielded first.
async fn receives_again<S, T>(
    s: &Store<S>,
    sub: &mut igniter_store::events::Subscription<T>,
    within: Duration,
) -> usize
where
    S: ScopePosition,
    S::Missing: NoneMissing,
{
    support::subscriptions::receives_again(sub, within, async |n| {
        let _ = s.events().publish(&outage::PING, &Ping { n }).await;
    })
    .await
}

use support::subscriptions::drain;

fn numsub(server: &RedisServer, channel: &str) -> u64 {
    let out = server.cli(["PUBSUB", "NUMSUB", channel]);
    out.lines().nth(1).unwrap_or("0").trim().parse().unwrap()
}

fn numpat(server: &RedisServer) -> u64 {
    server.cli(["PUBSUB", "NUMPAT"]).trim().parse().unwrap()
}

/// The server is stopped for `outage`, then started again on the same port
/// (empty). A channel and a pattern subscriber made before it receive again
/// without any new `subscribe()` in the process, each told of the gap exactly
/// once; a subscription dropped during the outage is not restored.
async fn pubsub_survives_an_outage(outage: Duration) {
    if support::skip_redis() {
        return;
    }
    let server = Arc::new(RedisServer::start());
    let store = connect(&server).await;
    let s = store.scope(tenant::Organization, "o").unwrap();
    let mut sub = s.events().subscribe(&outage::PING).await.unwrap();
    let mut all = s.events().subscribe_all::<outage::Event>().await.unwrap();
    let dropped = s.events().subscribe(&outage::PONG).await.unwrap();
    let ping = s.events().channel_name(&outage::PING).unwrap();
    let pong = s.events().channel_name(&outage::PONG).unwrap();
    receives_again(&s, &mut sub, Duration::from_secs(5)).await;
    receives_again(&s, &mut all, Duration::from_secs(5)).await;
    drain(&mut sub).await;
    drain(&mut all).await;
    assert_eq!(numsub(&server, &pong), 1);

    // Nobody in the process listens on `pong` any more after the first
    // moment of the outage.
    stop_for(&server, outage, move || drop(dropped)).await;

    let gaps = receives_again(&s, &mut sub, Duration::from_secs(15)).await;
    assert_eq!(gaps, 1, "gap errors on the channel after {outage:?}");
    let gaps = receives_again(&s, &mut all, Duration::from_secs(15)).await;
    assert_eq!(gaps, 1, "gap errors on the pattern after {outage:?}");
    assert_eq!(numsub(&server, &ping), 1, "the channel is subscribed again");
    assert_eq!(numpat(&server), 1, "the pattern is subscribed again");
    // Give a stale restore the time to happen: it must not.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        numsub(&server, &pong),
        0,
        "the dropped subscription stays gone"
    );
    assert_eq!(
        s.events()
            .publish(&outage::PONG, &Ping { n: 0 })
            .await
            .unwrap(),
        1,
        "only the pattern receives on the dropped channel"
    );
    // Each message arrives once.
    drain(&mut sub).await;
    s.events()
        .publish(&outage::PING, &Ping { n: 0 })
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), sub.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
    let second = tokio::time::timeout(Duration::from_millis(500), sub.next()).await;
    assert!(second.is_err(), "a message arrived twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_survives_an_outage_of_1s() {
    pubsub_survives_an_outage(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_survives_an_outage_of_10s() {
    pubsub_survives_an_outage(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_survives_an_outage_of_30s() {
    pubsub_survives_an_outage(Duration::from_secs(30)).await;
}

/// Two outages in a row on one store: one gap error each, and the
/// subscriber receives after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_survives_repeated_outages() {
    if support::skip_redis() {
        return;
    }
    let server = Arc::new(RedisServer::start());
    let store = connect(&server).await;
    let mut sub = store.events().subscribe(&outage::PING).await.unwrap();
    receives_again(&store, &mut sub, Duration::from_secs(5)).await;
    for round in 0..2 {
        drain(&mut sub).await;
        stop_for(&server, Duration::from_secs(8), || ()).await;
        let gaps = receives_again(&store, &mut sub, Duration::from_secs(15)).await;
        assert_eq!(gaps, 1, "round {round}");
    }
}

/// Once ordinary commands work again after a restart, blocking reads work
/// too: the pooled connections from before the restart are dead, and a read
/// that meets one must not fail for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_reads_work_as_soon_as_commands_do_after_a_restart() {
    if support::skip_redis() {
        return;
    }
    let server = Arc::new(RedisServer::start());
    let store = connect(&server).await;
    let ensure = async || store.streams().group("g", "c").ensure("jobs").await;
    ensure().await.unwrap();
    // Several reads at once: several pooled connections.
    let reads = (0..6).map(|_| {
        let store = store.clone();
        async move {
            store
                .streams()
                .group("g", "c")
                .read::<u32>("jobs")
                .block(Duration::from_millis(200))
                .await
        }
    });
    for read in futures::future::join_all(reads).await {
        assert!(read.unwrap().is_empty());
    }

    blocking({
        let server = server.clone();
        move || server.restart()
    })
    .await;
    // Ordinary commands first (the group is gone with the data).
    eventually(Duration::from_secs(10), "commands work again", async || {
        ensure().await.is_ok()
    })
    .await;
    for i in 0..8 {
        let read = store
            .streams()
            .group("g", "c")
            .read::<u32>("jobs")
            .block(Duration::from_millis(50))
            .await;
        assert!(
            read.is_ok(),
            "read {i} after the restart: {:?}",
            read.map(|r| r.len())
        );
    }
}

/// A worker whose group was lost with the server's data creates it again and
/// delivers what is appended afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_goes_on_after_a_restart_without_data() {
    if support::skip_redis() {
        return;
    }
    let server = Arc::new(RedisServer::start());
    let store = connect(&server).await;
    store.streams().append("jobs", &1u32).await.unwrap();
    let mut worker = store
        .streams()
        .group("g", "w")
        .worker::<u32>("jobs")
        .block(Duration::from_millis(200))
        .start();
    let (tx, mut delivered) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(delivery) = worker.next().await {
            if let Ok(delivery) = delivery {
                let _ = delivery.ack().await;
                if tx.send(delivery.data.unwrap()).is_err() {
                    return;
                }
            }
        }
    });
    let next = async |delivered: &mut tokio::sync::mpsc::UnboundedReceiver<u32>| {
        tokio::time::timeout(Duration::from_secs(20), delivered.recv())
            .await
            .expect("delivered within 20 s")
            .unwrap()
    };
    assert_eq!(next(&mut delivered).await, 1);
    blocking({
        let server = server.clone();
        move || server.restart()
    })
    .await;
    eventually(Duration::from_secs(10), "appends work again", async || {
        store.streams().append("jobs", &2u32).await.is_ok()
    })
    .await;
    assert_eq!(next(&mut delivered).await, 2);
    store.streams().append("jobs", &3u32).await.unwrap();
    assert_eq!(next(&mut delivered).await, 3);
    task.abort();
}

/// Connections of the store on the server: every client but `redis-cli`'s
/// own.
fn store_connections(server: &RedisServer) -> usize {
    server
        .cli(["CLIENT", "LIST"])
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("cmd=client|list"))
        .count()
}

/// `close()` while a blocking read, a worker and a subscriber wait: each ends
/// at once, no connection of the store is left on the server, and no task of
/// the store runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_what_waits() {
    if support::skip_redis() {
        return;
    }
    let server = RedisServer::start();
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    let store = connect(&server).await;
    store
        .streams()
        .group("g", "reader")
        .ensure("jobs")
        .await
        .unwrap();
    let reader = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .streams()
                .group("g", "reader")
                .read::<u32>("jobs")
                .block(Duration::from_secs(20))
                .await
                .map(|entries| entries.len())
        }
    });
    let worker = tokio::spawn({
        let mut worker = store
            .streams()
            .group("g", "worker")
            .worker::<u32>("jobs")
            .block(Duration::from_secs(20))
            .start();
        async move {
            let mut last = None;
            while let Some(item) = worker.next().await {
                last = Some(item.map(|_| ()));
            }
            last
        }
    });
    let mut sub = store.events().subscribe(&outage::PING).await.unwrap();
    // The reads are blocked on the server.
    eventually(Duration::from_secs(5), "two blocked clients", async || {
        server
            .cli(["INFO", "clients"])
            .contains("blocked_clients:2")
    })
    .await;
    assert!(
        store_connections(&server) >= 4,
        "commands, pub/sub, 2 reads"
    );

    let closed_at = Instant::now();
    store.close().await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(2), reader)
        .await
        .expect("the blocked read ends at close")
        .unwrap();
    assert_eq!(read.unwrap_err().code(), ErrorCode::NotConnected);
    let last = tokio::time::timeout(Duration::from_secs(2), worker)
        .await
        .expect("the worker ends at close")
        .unwrap();
    assert_eq!(
        last.expect("it said why").unwrap_err().code(),
        ErrorCode::NotConnected
    );
    let end = tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .expect("the subscription ends at close");
    assert!(end.is_none(), "the subscription ends");
    assert!(closed_at.elapsed() < Duration::from_secs(3));

    eventually(Duration::from_secs(5), "no connection left", async || {
        store_connections(&server) == 0
    })
    .await;
    eventually(Duration::from_secs(5), "no task left", async || {
        metrics.num_alive_tasks() <= tasks_before
    })
    .await;
    // And so it stays: nothing reconnects behind the user's back.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(store_connections(&server), 0);
    assert_eq!(
        store.kv().get::<u32>("k").await.unwrap_err().code(),
        ErrorCode::NotConnected
    );
}

/// Keys under a tenant that the store did not write: not UTF-8, and of every
/// other type. Scans skip what they cannot name and never fail a page;
/// purging the tenant, and the service, removes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_in_a_tenant_are_scanned_and_purged() {
    if support::skip_redis() {
        return;
    }
    let server = RedisServer::start();
    let store = connect(&server).await;
    let acme = store.scope(Tenant::Organization, "acme").unwrap();
    let other = store.scope(Tenant::Organization, "other").unwrap();
    for i in 0..50u32 {
        acme.kv().set(&format!("k{i}"), &i).await.unwrap();
        other.kv().set(&format!("k{i}"), &i).await.unwrap();
    }
    let base = acme.kv().key("x").unwrap();
    let base = base.strip_suffix(":kv:x").unwrap().to_owned();
    let adapter = store.adapter_as::<RedisAdapter>().unwrap();
    let mut con = adapter.connection().unwrap();
    // Not UTF-8, in the kv namespace (so scans meet it) and elsewhere.
    let mut foreign: Vec<Vec<u8>> = vec![
        [format!("{base}:kv:").as_bytes(), b"\xff\xfe"].concat(),
        [format!("{base}:kv:k").as_bytes(), b"\xc3\x28"].concat(),
        [format!("{base}:").as_bytes(), b"\x80raw"].concat(),
    ];
    for key in &foreign {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(b"\xff")
            .query_async(&mut con)
            .await
            .unwrap();
    }
    // Every other type, in the kv namespace and beside it.
    for (kind, args) in [
        ("HSET", vec!["f", "v"]),
        ("RPUSH", vec!["a", "b"]),
        ("SADD", vec!["m"]),
        ("ZADD", vec!["1", "m"]),
        ("XADD", vec!["*", "f", "v"]),
    ] {
        for key in [
            format!("{base}:kv:{kind}"),
            format!("{base}:elsewhere:{kind}"),
        ] {
            let _: redis::Value = redis::cmd(kind)
                .arg(&key)
                .arg(&args)
                .query_async(&mut con)
                .await
                .unwrap();
            foreign.push(key.into_bytes());
        }
    }

    // Scans: one page at a time and the whole stream, small pages so that
    // every foreign key shares a page with the tenant's own.
    let mut cursor = None;
    let mut paged = Vec::new();
    loop {
        let mut scan = acme.dev().scan("*").count(3);
        if let Some(c) = cursor.take() {
            scan = scan.cursor(c);
        }
        let page = scan.await.expect("no page fails");
        paged.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let all: Vec<String> = acme.dev().scan_all("*").try_collect().await.unwrap();
    for keys in [&mut paged, &mut all.clone()] {
        keys.sort();
        keys.dedup();
        let own: Vec<String> = keys
            .iter()
            .filter(|k| k.starts_with('k') && k[1..].parse::<u32>().is_ok())
            .cloned()
            .collect();
        assert_eq!(own.len(), 50, "every key of the tenant");
        let rest: Vec<&String> = keys.iter().filter(|k| !own.contains(k)).collect();
        // The other types are keys too; what is not UTF-8 is skipped.
        assert_eq!(
            rest,
            ["HSET", "RPUSH", "SADD", "XADD", "ZADD"]
                .iter()
                .collect::<Vec<_>>(),
        );
    }

    // Purge the tenant: everything under it goes, foreign keys included.
    let removed = acme.purge().await.unwrap();
    assert_eq!(removed, 50 + foreign.len() as u64);
    let exists: u64 = redis::cmd("EXISTS")
        .arg(&foreign)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 0, "no foreign key is left");
    assert!(
        acme.dev()
            .scan_all("*")
            .try_collect::<Vec<String>>()
            .await
            .unwrap()
            .is_empty()
    );
    // The other tenant is whole.
    assert_eq!(
        other
            .dev()
            .scan_all("*")
            .try_collect::<Vec<String>>()
            .await
            .unwrap()
            .len(),
        50
    );

    // A root purge meets a foreign key of its own and removes it too.
    let root_foreign = [&b"igniter:store:outages:"[..], b"\xc0"].concat();
    let _: () = redis::cmd("SET")
        .arg(&root_foreign)
        .arg(1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(store.purge().await.unwrap(), 51);
    assert_eq!(server.cli(["DBSIZE"]).trim(), "0");
}
