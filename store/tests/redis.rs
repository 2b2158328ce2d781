//! What only [`RedisAdapter`] promises, against a `redis-server` this test
//! binary starts for itself (one per binary; tests isolate themselves by
//! service name). The conformance suite on it runs in `conformance_suite.rs`.

mod conformance;
mod support;

use std::sync::Arc;
use std::time::Duration;

use conformance::{Tenant, UserCreated, user};
use futures::StreamExt;
use igniter_store::{ErrorCode, RedisAdapter, Store, StoreAdapter};

async fn store() -> Option<Store<Tenant>> {
    if support::skip_redis() {
        return None;
    }
    let adapter = RedisAdapter::connect(&support::shared().url())
        .await
        .unwrap();
    Some(
        Store::builder()
            .adapter(adapter)
            .service(conformance::unique_service())
            .scopes::<Tenant>()
            .build()
            .unwrap(),
    )
}

fn numsub(channel: &str) -> u64 {
    let out = support::shared().cli(["PUBSUB", "NUMSUB", channel]);
    out.lines().nth(1).unwrap_or("0").trim().parse().unwrap()
}

fn numpat() -> u64 {
    support::shared()
        .cli(["PUBSUB", "NUMPAT"])
        .trim()
        .parse()
        .unwrap()
}

/// Waits until `f` holds, for up to 5 s.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn one_server_subscription_per_channel_removed_with_the_last_subscriber() {
    let Some(root) = store().await else { return };
    let s = root.scope(Tenant::Organization, "o").unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(s.events().subscribe(&user::CREATED).await.unwrap());
    }
    assert_eq!(
        numsub(&channel),
        1,
        "one SUBSCRIBE for three local subscribers"
    );
    let patterns = numpat();
    let all = s.events().subscribe_all::<user::Event>().await.unwrap();
    let all2 = s.events().subscribe_all::<user::Event>().await.unwrap();
    assert_eq!(numpat(), patterns + 1, "one PSUBSCRIBE for two");
    drop(subs.pop());
    assert_eq!(numsub(&channel), 1, "still wanted by two");
    subs.clear();
    eventually("UNSUBSCRIBE after the last subscriber", || {
        numsub(&channel) == 0
    })
    .await;
    drop((all, all2));
    eventually("PUNSUBSCRIBE after the last subscriber", || {
        numpat() == patterns
    })
    .await;
    // a new subscriber right after works again
    let mut again = s.events().subscribe(&user::CREATED).await.unwrap();
    s.events()
        .publish(&user::CREATED, &UserCreated { id: "x".into() })
        .await
        .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), again.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.data.id, "x");
}

#[tokio::test]
async fn close_ends_streams_and_leaves_no_connection() {
    if support::skip_redis() {
        return;
    }
    // A server of its own: the shared one has other tests' connections.
    let server = support::RedisServer::start();
    let clients = || -> u64 {
        let info = server.cli(["INFO", "clients"]);
        info.lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = clients();
    let adapter = RedisAdapter::connect(&server.url()).await.unwrap();
    let store = Store::builder()
        .adapter(adapter)
        .service("close")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "o").unwrap();
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    s.kv().set("k", &1).await.unwrap();
    assert_eq!(clients(), before + 2, "a command and a pub/sub connection");
    // a set prepared before `close` and run after it does not write
    let prepared = std::future::IntoFuture::into_future(s.kv().set("k", &2));
    store.close().await.unwrap();
    assert_eq!(prepared.await.unwrap_err().code(), ErrorCode::NotConnected);
    let end = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap();
    assert!(end.is_none(), "the stream ends on close");
    assert_eq!(
        s.kv().get::<i32>("k").await.unwrap_err().code(),
        ErrorCode::NotConnected
    );
    eventually("both connections closed", || clients() == before).await;

    // A subscription outlives the store handles it came from...
    let adapter = RedisAdapter::connect(&server.url()).await.unwrap();
    let store = Store::builder()
        .adapter(adapter)
        .service("close")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "o").unwrap();
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let publisher = RedisAdapter::connect(&server.url()).await.unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    s.kv().set("k", &1).await.unwrap();
    drop((s, store));
    let envelope =
        r#"{"type":"user:created","data":{"id":"late"},"timestamp":"2026-11-26T05:39:29.123Z"}"#;
    publisher.publish(&channel, envelope.into()).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.data.id, "late");
    // ...and once it goes too, nothing is left behind.
    drop(sub);
    publisher.close().await.unwrap();
    eventually("connections closed after the last handle", || {
        clients() == before
    })
    .await;
}

#[tokio::test]
async fn raw_clients_interoperate() {
    let Some(root) = store().await else { return };
    let s = root.scope(Tenant::Organization, "org_1").unwrap();
    s.kv()
        .set("config", &serde_json::json!({"theme": "dark"}))
        .await
        .unwrap();
    let key = s.kv().key("config").unwrap();
    assert!(key.ends_with(":organization:org_1:kv:config"));
    assert_eq!(support::shared().cli(["GET", &key]), r#"{"theme":"dark"}"#);
    // a TypeScript service's publish, by redis-cli
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    let envelope = r#"{"type":"user:created","data":{"id":"from-ts"},"timestamp":"2026-11-26T05:39:29.123Z","scope":{"key":"organization","identifier":"org_1"}}"#;
    support::shared().cli(["PUBLISH", &channel, envelope]);
    let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.data.id, "from-ts");
    assert_eq!(ev.scope.as_ref().unwrap().identifier, "org_1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_stream_reader_delays_nothing() {
    let Some(root) = store().await else { return };
    let s = root.scope(Tenant::Organization, "o").unwrap();
    let group = s.streams().group("g", "reader");
    group.ensure("empty").await.unwrap();
    let reader = {
        let s = s.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let got = s
                .streams()
                .group("g", "reader")
                .read::<u32>("empty")
                .block(Duration::from_secs(2))
                .await
                .unwrap();
            (got.len(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    for i in 0..100 {
        s.kv().set(&format!("k{i}"), &i).await.unwrap();
        assert_eq!(s.kv().get::<i32>(&format!("k{i}")).await.unwrap(), Some(i));
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "100 kv operations took {took:?} while a reader blocked"
    );
    let (got, blocked) = reader.await.unwrap();
    assert_eq!(got, 0);
    assert!(
        blocked >= Duration::from_millis(1900),
        "the reader blocked {blocked:?}"
    );
}

/// `batch.set` is one MULTI/EXEC: a reader running at the same time sees all
/// of a batch or none of it, never a part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_set_is_never_seen_half_applied() {
    let Some(root) = store().await else { return };
    let s = root.scope(Tenant::Organization, "o").unwrap();
    let keys: Vec<String> = (0..50).map(|i| format!("b{i}")).collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (s, keys, stop) = (s.clone(), keys.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let values: Vec<Option<u32>> = s.batch().get(&keys).await.unwrap();
                let first = values[0];
                assert!(
                    values.iter().all(|v| *v == first),
                    "a batch seen half-applied: {values:?}"
                );
                reads += 1;
            }
            reads
        })
    };
    for round in 0..200u32 {
        let entries: Vec<_> = keys
            .iter()
            .map(|k| igniter_store::batch::BatchEntry::new(k.as_str(), &round))
            .collect();
        s.batch().set(entries).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.await.expect("the reader never saw a partial batch");
    assert!(
        reads > 10,
        "the reader ran alongside the writes ({reads} reads)"
    );
}

/// Connection errors say where (host and port, never the password) and URL
/// errors say what is wrong.
#[tokio::test]
async fn connection_errors_name_the_address_and_never_the_password() {
    if support::skip_redis() {
        return;
    }
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://app:s3cret@127.0.0.1:{port}/");
    let err = RedisAdapter::builder(&url)
        .connection_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConnectionFailed);
    let address = format!("127.0.0.1:{port}");
    assert!(err.message().contains(&address), "{}", err.message());
    assert_eq!(err.details().unwrap()["address"], address.as_str());
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");

    // A URL without a scheme, or with another one.
    let err = RedisAdapter::connect("app:s3cret@localhost:6379")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigurationInvalid);
    assert!(err.message().contains("has no scheme"), "{}", err.message());
    assert!(
        err.message().contains("redis://***@localhost:6379"),
        "{}",
        err.message()
    );
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
    let err = RedisAdapter::connect("http://localhost:6379")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigurationInvalid);
    assert!(
        err.message().contains("the scheme `http`"),
        "{}",
        err.message()
    );

    // Once connected, an operation that meets a stopped server says where.
    let server = support::RedisServer::start();
    let adapter = RedisAdapter::connect(&server.url()).await.unwrap();
    assert_eq!(adapter.address(), format!("127.0.0.1:{}", server.port()));
    let store = Store::builder()
        .adapter(adapter)
        .service("errors")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    store.kv().set("k", &1).await.unwrap();
    server.stop();
    let err = store.kv().get::<i32>("k").await.unwrap_err();
    if err.code() == ErrorCode::ConnectionFailed {
        assert_eq!(
            err.details().unwrap()["address"],
            format!("127.0.0.1:{}", server.port()).as_str()
        );
        assert!(
            err.message()
                .starts_with("the connection to Redis at 127.0.0.1:"),
            "{}",
            err.message()
        );
    } else {
        assert_eq!(err.code(), ErrorCode::Timeout, "{err:?}");
    }
}
