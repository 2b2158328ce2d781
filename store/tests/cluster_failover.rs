//! A graceful failover of a Redis Cluster primary while a subscriber and a
//! stream reader are open.

mod conformance;
mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conformance::{Tenant, UserCreated, user};
use futures::StreamExt;
use igniter_store::{ErrorCode, RedisClusterAdapter, Store};

/// The primary that holds `key`'s slot.
fn owner_of(cluster: &support::RedisCluster, key: &str) -> u16 {
    let any = &cluster.servers()[0];
    let slot = any.cli(["CLUSTER", "KEYSLOT", key]);
    cluster
        .primaries()
        .into_iter()
        .find(|&port| {
            cluster
                .node(port)
                .cli(["CLUSTER", "COUNTKEYSINSLOT", &slot])
                .trim()
                != "0"
        })
        .expect("a primary holds the key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_keeps_subscribers_readers_and_entries() {
    if support::skip_redis() {
        return;
    }
    let cluster = support::RedisCluster::start(3, 1);
    let adapter = RedisClusterAdapter::connect(cluster.seed_urls())
        .await
        .unwrap();
    let store: Store<Tenant> = Store::builder()
        .adapter(adapter)
        .service("failover")
        .scopes::<Tenant>()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "o").unwrap();
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let group = s.streams().group("g", "reader");
    group.ensure("jobs").await.unwrap();

    // A producer and a reader that acknowledges everything it reads.
    let appended: Arc<Mutex<HashSet<u32>>> = Arc::default();
    let acked: Arc<Mutex<HashSet<u32>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (s, appended, stop) = (s.clone(), appended.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if s.streams().append("jobs", &i).await.is_ok() {
                    appended.lock().unwrap().insert(i);
                    i += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let reader = {
        let (s, acked, stop) = (s.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let group = s.streams().group("g", "reader");
            let mut errors = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match group
                    .read::<u32>("jobs")
                    .count(50)
                    .block(Duration::from_millis(200))
                    .await
                {
                    Ok(entries) => {
                        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
                        if group.ack("jobs", &ids).await.is_ok() {
                            let mut acked = acked.lock().unwrap();
                            acked.extend(entries.iter().map(|e| *e.data.as_ref().unwrap()));
                        }
                    }
                    Err(e) => {
                        errors.push(e.code());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            errors
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!acked.lock().unwrap().is_empty(), "the reader works before");

    // Fail over the primary that holds the stream.
    let key = s.streams().key("jobs").unwrap();
    let owner = owner_of(&cluster, &key);
    let replica = cluster
        .nodes()
        .into_iter()
        .find(|n| n.primary_port == Some(owner))
        .expect("the primary has a replica")
        .port;
    cluster.failover(replica);
    assert_eq!(owner_of(&cluster, &key), replica, "the replica took over");

    // The subscriber receives events published after the failover.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut received = None;
    while received.is_none() {
        assert!(
            Instant::now() < deadline,
            "the subscriber never received after the failover"
        );
        let _ = s
            .events()
            .publish(&user::CREATED, &UserCreated { id: "after".into() })
            .await;
        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            Ok(Some(Ok(ev))) => received = Some(ev.data.id.clone()),
            Ok(Some(Err(e))) => assert_eq!(e.code(), ErrorCode::ConnectionFailed, "{e}"),
            Ok(None) => panic!("the subscription ended"),
            Err(_) => {}
        }
    }

    // The reader goes on: everything appended, before and after, is acked.
    let after_failover = appended.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while appended.lock().unwrap().len() < after_failover + 50 {
        assert!(Instant::now() < deadline, "appends never resumed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    producer.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let appended = appended.lock().unwrap().clone();
    loop {
        let missing = appended.difference(&acked.lock().unwrap()).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} appended entries were never acked"
        );
        // the reader task stopped with `stop`; read what is left here
        let rest = group.read::<u32>("jobs").count(500).await.unwrap();
        let ids: Vec<&str> = rest.iter().map(|e| e.id.as_str()).collect();
        group.ack("jobs", &ids).await.unwrap();
        acked
            .lock()
            .unwrap()
            .extend(rest.iter().map(|e| *e.data.as_ref().unwrap()));
    }
    let errors = reader.await.unwrap();
    assert!(errors.len() < 50, "the reader kept failing: {errors:?}");
    // and none of the acked entries is gone from the stream
    let stored: HashSet<u32> = s
        .streams()
        .range::<u32>("jobs")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data.unwrap())
        .collect();
    assert!(
        appended.is_subset(&stored),
        "an acknowledged entry was lost"
    );
}

/// A batch across slots that fails in one slot (its primary does not answer)
/// says which keys were written and which were not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_failing_in_one_slot_is_reported_partial() {
    if support::skip_redis() {
        return;
    }
    let cluster = support::RedisCluster::start(3, 0);
    let adapter = RedisClusterAdapter::builder(cluster.seed_urls())
        .response_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let store: Store<Tenant> = Store::builder()
        .adapter(adapter)
        .service("partial")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "o").unwrap();
    // keys on the other primaries first, then keys on the one to stop
    let stopped = cluster.primaries()[0];
    let (mut elsewhere, mut there) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let key = format!("k{i}");
        s.kv().set(&key, &0u8).await.unwrap();
        let full = s.kv().key(&key).unwrap();
        if owner_of(&cluster, &full) == stopped {
            there.push(key);
        } else {
            elsewhere.push(key);
        }
    }
    assert!(!elsewhere.is_empty() && !there.is_empty());
    let keys: Vec<&String> = elsewhere.iter().chain(&there).collect();
    cluster.node(stopped).pause();
    let result = s
        .batch()
        .set(
            keys.iter()
                .map(|k| igniter_store::batch::BatchEntry::new(k.as_str(), &1u8)),
        )
        .await;
    cluster.node(stopped).resume();
    let err = result.unwrap_err();
    assert_eq!(err.code(), ErrorCode::BatchPartial, "{err}");
    let details = err.details().unwrap();
    let names = |field: &str| -> HashSet<String> {
        details[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let (written, unknown, not_written) = (names("written"), names("unknown"), names("notWritten"));
    assert_eq!(
        written,
        elsewhere.iter().cloned().collect(),
        "the caller's keys"
    );
    // The stopped node timed out on its first slot: that transaction may yet
    // be applied, and the details say so instead of guessing; its other slots
    // were not attempted.
    assert!(!unknown.is_empty());
    assert_eq!(
        unknown.union(&not_written).cloned().collect::<HashSet<_>>(),
        there.iter().cloned().collect()
    );
    // what the details say is what the store holds
    cluster.wait_until_ready(Duration::from_secs(20));
    let get = |keys: Vec<String>| {
        let s = s.clone();
        async move { s.batch().get::<u8, _>(&keys).await.unwrap() }
    };
    assert!(get(elsewhere.clone()).await.iter().all(|v| *v == Some(1)));
    assert!(
        get(not_written.into_iter().collect())
            .await
            .iter()
            .all(|v| *v == Some(0))
    );
    let maybe = get(unknown.into_iter().collect()).await;
    assert!(
        maybe.iter().all(|v| *v == Some(0)) || maybe.iter().all(|v| *v == Some(1)),
        "one slot, one transaction: all or nothing ({maybe:?})"
    );
}

/// The node that holds the store's pub/sub subscriptions is stopped for
/// longer than the client's retry budget, then started again (empty, same
/// identity): a channel and a pattern subscriber made before receive again
/// without a new `subscribe()`, each told of the gap exactly once, and a
/// subscription dropped during the outage is not restored anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_survives_a_node_restart() {
    if support::skip_redis() {
        return;
    }
    let cluster = Arc::new(support::RedisCluster::start(3, 0));
    let adapter = RedisClusterAdapter::connect(cluster.seed_urls())
        .await
        .unwrap();
    let store: Store<Tenant> = Store::builder()
        .adapter(adapter)
        .service("restart")
        .scopes::<Tenant>()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "o").unwrap();
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let mut all = s.events().subscribe_all::<user::Event>().await.unwrap();
    let dropped = s
        .events()
        .subscribe(&user::notifications::EMAIL)
        .await
        .unwrap();
    let created = s.events().channel_name(&user::CREATED).unwrap();
    let email = s
        .events()
        .channel_name(&user::notifications::EMAIL)
        .unwrap();
    let subscribers = |channel: &str| -> u64 {
        cluster
            .ports()
            .into_iter()
            .map(|port| {
                let out = cluster.node(port).cli(["PUBSUB", "NUMSUB", channel]);
                out.lines()
                    .nth(1)
                    .unwrap_or("0")
                    .trim()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    };
    let publish = async |n: u32| {
        let _ = s
            .events()
            .publish(&user::CREATED, &UserCreated { id: n.to_string() })
            .await;
    };
    // Publishes until `sub` yields an event; returns the gap errors first.
    async fn receives<T>(
        sub: &mut igniter_store::events::Subscription<T>,
        publish: impl AsyncFn(u32),
    ) -> usize {
        support::subscriptions::receives_again(sub, Duration::from_secs(30), async |n| {
            publish(n as u32).await
        })
        .await
    }
    assert_eq!(receives(&mut sub, &publish).await, 0);
    assert_eq!(receives(&mut all, &publish).await, 0);
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {}
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), all.next()).await {}
    // The node the subscription lives on.
    let node = cluster
        .ports()
        .into_iter()
        .find(|&port| {
            let out = cluster.node(port).cli(["PUBSUB", "NUMSUB", &created]);
            out.lines().nth(1).is_some_and(|n| n.trim() == "1")
        })
        .expect("a node holds the subscription");

    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.node(node).stop()
    })
    .await
    .unwrap();
    drop(dropped);
    tokio::time::sleep(Duration::from_secs(30)).await;
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || {
            cluster.node(node).restart();
            cluster.wait_until_ready(Duration::from_secs(30));
        }
    })
    .await
    .unwrap();

    assert_eq!(receives(&mut sub, &publish).await, 1, "gaps on the channel");
    assert_eq!(receives(&mut all, &publish).await, 1, "gaps on the pattern");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(subscribers(&created), 1, "the channel is subscribed once");
    assert_eq!(
        subscribers(&email),
        0,
        "the dropped subscription stays gone"
    );
    // Each message arrives once.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {}
    publish(7).await;
    let first = tokio::time::timeout(Duration::from_secs(2), sub.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
    let second = tokio::time::timeout(Duration::from_millis(500), sub.next()).await;
    assert!(second.is_err(), "a message arrived twice");
}
