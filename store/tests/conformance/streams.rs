//! The stream cases of the conformance suite.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use igniter_store::{ErrorCode, streams::StreamEntry};

use super::cases::{H, org};
use super::{UserCreated, user};

fn ids<T>(entries: &[StreamEntry<T>]) -> Vec<String> {
    entries.iter().map(|e| e.id.clone()).collect()
}

fn values(entries: Vec<StreamEntry<u32>>) -> Vec<u32> {
    entries.into_iter().map(|e| e.data.unwrap()).collect()
}

pub async fn streams_append_range_len_trim(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let mut appended = Vec::new();
    for i in 0..5u32 {
        appended.push(st.append("log", &i).await.unwrap());
    }
    let mut sorted = appended.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    assert_eq!(sorted, appended, "ids grow");
    assert_eq!(values(st.range("log").await.unwrap()), [0, 1, 2, 3, 4]);
    assert_eq!(values(st.range("log").count(2).await.unwrap()), [0, 1]);
    assert_eq!(
        values(st.range("log").reverse().count(2).await.unwrap()),
        [4, 3]
    );
    let middle = st
        .range::<u32>("log")
        .start(appended[1].clone())
        .end(appended[3].clone())
        .await
        .unwrap();
    assert_eq!(ids(&middle), &appended[1..=3]);
    let exclusive = st
        .range::<u32>("log")
        .start(format!("({}", appended[1]))
        .await
        .unwrap();
    assert_eq!(ids(&exclusive), &appended[2..]);
    assert_eq!(st.len("log").await.unwrap(), 5);
    assert_eq!(st.len("missing").await.unwrap(), 0);
    assert!(st.range::<u32>("missing").await.unwrap().is_empty());
    assert_eq!(st.trim("log", 3, false).await.unwrap(), 2);
    assert_eq!(values(st.range("log").await.unwrap()), [2, 3, 4]);
    st.append("log", &5u32).max_len(2).await.unwrap();
    assert_eq!(values(st.range("log").await.unwrap()), [4, 5]);
    st.append("log", &6u32)
        .max_len(2)
        .approximate()
        .await
        .unwrap();
    assert!(st.len("log").await.unwrap() >= 2);
    // the TypeScript layout: one field, `data`, the JSON
    let key = st.key("log").unwrap();
    assert!(key.ends_with(":organization:o:streams:log"), "{key}");
    assert_eq!(
        st.range::<u32>("log").reverse().count(1).await.unwrap()[0]
            .raw
            .as_deref(),
        Some(&b"6"[..])
    );
    assert_eq!(
        st.range::<u32>("log")
            .start("not-an-id")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::StreamIdInvalid
    );
}

pub async fn streams_typed_by_channel(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    st.append(&user::CREATED, &UserCreated { id: "u1".into() })
        .await
        .unwrap();
    let g = st.group("g", "c1");
    assert!(g.ensure(&user::CREATED).await.unwrap());
    let entries = g.read(&user::CREATED).await.unwrap();
    assert_eq!(entries[0].data.as_ref().unwrap().id, "u1");
    // the payload's former name still reads it, with a deprecation warning
    #[allow(deprecated)]
    let former = entries[0].message();
    assert_eq!(former.as_ref().unwrap().id, "u1");
    assert!(
        st.key(&user::CREATED)
            .unwrap()
            .ends_with(":streams:user:created")
    );
}

pub async fn streams_group_read_ack_pending(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let g = st.group("g", "c1");
    assert!(g.ensure("jobs").await.unwrap(), "created");
    assert!(!g.ensure("jobs").await.unwrap(), "idempotent");
    for i in 0..5u32 {
        st.append("jobs", &i).await.unwrap();
    }
    let first = g.read::<u32>("jobs").count(3).await.unwrap();
    assert_eq!(values_ref(&first), [0, 1, 2]);
    let summary = g.pending("jobs").await.unwrap();
    assert_eq!(summary.count, 3);
    assert_eq!(summary.min_id.as_deref(), Some(first[0].id.as_str()));
    assert_eq!(summary.consumers, vec![("c1".to_owned(), 3)]);
    let entries = g.pending_entries("jobs").mine().await.unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|p| p.deliveries == 1 && p.consumer == "c1")
    );
    assert_eq!(g.ack("jobs", &ids(&first)).await.unwrap(), 3);
    assert_eq!(g.ack("jobs", &ids(&first)).await.unwrap(), 0, "acked twice");
    assert_eq!(g.pending("jobs").await.unwrap().count, 0);
    let rest = g.read::<u32>("jobs").await.unwrap();
    assert_eq!(values_ref(&rest), [3, 4]);
    assert!(
        g.read::<u32>("jobs").await.unwrap().is_empty(),
        "nothing new"
    );
    // a group created with `$` sees only what comes after
    let late = st.group("late", "c1");
    late.ensure("jobs").start_id("$").await.unwrap();
    assert!(late.read::<u32>("jobs").await.unwrap().is_empty());
    st.append("jobs", &9u32).await.unwrap();
    assert_eq!(values_ref(&late.read::<u32>("jobs").await.unwrap()), [9]);
}

fn values_ref(entries: &[StreamEntry<u32>]) -> Vec<u32> {
    entries.iter().map(|e| *e.data.as_ref().unwrap()).collect()
}

pub async fn streams_consumers_split_and_reclaim(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let a = st.group("g", "a");
    let b = st.group("g", "b");
    a.ensure("q").await.unwrap();
    for i in 0..6u32 {
        st.append("q", &i).await.unwrap();
    }
    let got_a = a.read::<u32>("q").count(3).await.unwrap();
    let got_b = b.read::<u32>("q").count(3).await.unwrap();
    assert_eq!(values_ref(&got_a), [0, 1, 2]);
    assert_eq!(values_ref(&got_b), [3, 4, 5]);
    // a dies without acking; b takes its entries over once they are idle
    assert!(
        b.reclaim::<u32>("q", Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let taken = b
        .reclaim::<u32>("q", Duration::from_millis(100))
        .count(10)
        .await
        .unwrap();
    let mut taken_values = values_ref(&taken);
    taken_values.sort();
    assert_eq!(taken_values, [0, 1, 2, 3, 4, 5], "b's own idle entries too");
    let pending = b.pending_entries("q").await.unwrap();
    assert!(
        pending
            .iter()
            .all(|p| p.consumer == "b" && p.deliveries == 2),
        "{pending:?}"
    );
    assert_eq!(b.ack("q", &ids(&taken)).await.unwrap(), 6);
    // removing a consumer drops its pending entries
    st.append("q", &7u32).await.unwrap();
    a.read::<u32>("q").await.unwrap();
    assert_eq!(a.remove_consumer("q").await.unwrap(), 1);
    assert_eq!(a.pending("q").await.unwrap().count, 0);
}

pub async fn streams_undecodable_entries_are_reported(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let g = st.group("g", "c");
    g.ensure("q").await.unwrap();
    let key = st.key("q").unwrap();
    s.adapter()
        .xadd(&key, "not json"[..].into(), None)
        .await
        .unwrap();
    st.append("q", &1u32).await.unwrap();
    let entries = g.read::<u32>("q").await.unwrap();
    assert_eq!(entries.len(), 2, "the bad entry is not dropped");
    assert_eq!(
        entries[0].data.as_ref().unwrap_err().code(),
        ErrorCode::DeserializationFailed
    );
    assert_eq!(entries[0].raw.as_deref(), Some(&b"not json"[..]));
    assert_eq!(*entries[1].data.as_ref().unwrap(), 1);
    assert_eq!(
        g.ack("q", &ids(&entries)).await.unwrap(),
        2,
        "and can be acked"
    );
}

pub async fn streams_errors(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    st.append("q", &1u32).await.unwrap();
    let g = st.group("nope", "c");
    assert_eq!(
        g.read::<u32>("q").await.unwrap_err().code(),
        ErrorCode::StreamGroupNotFound
    );
    assert_eq!(
        st.group("", "c").read::<u32>("q").await.unwrap_err().code(),
        ErrorCode::StreamGroupRequired
    );
    assert_eq!(
        st.group("g", "").ensure("q").await.unwrap_err().code(),
        ErrorCode::StreamConsumerRequired
    );
    assert_eq!(
        st.append("", &1u32).await.unwrap_err().code(),
        ErrorCode::StreamNameRequired
    );
    // types do not mix
    s.kv().set("k", &1).await.unwrap();
    let kv_key = s.kv().key("k").unwrap();
    let stream_key = st.key("q").unwrap();
    assert_eq!(
        s.adapter()
            .xadd(&kv_key, "1"[..].into(), None)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::WrongType
    );
    assert_eq!(
        s.adapter().get(&stream_key).await.unwrap_err().code(),
        ErrorCode::WrongType
    );
    assert!(s.adapter().exists(&stream_key).await.unwrap());
    // streams belong to the tenant: purge removes them
    assert!(s.purge().await.unwrap() >= 2);
    assert_eq!(st.len("q").await.unwrap(), 0);
}

pub async fn streams_blocking_read_wakes_on_append(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let g = st.group("g", "c");
    g.ensure("q").await.unwrap();
    let started = Instant::now();
    let empty = g
        .read::<u32>("q")
        .block(Duration::from_millis(200))
        .await
        .unwrap();
    assert!(empty.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "{waited:?}"
    );

    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            s.streams().append("q", &42u32).await.unwrap();
        })
    };
    let started = Instant::now();
    let got = g
        .read::<u32>("q")
        .block(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(values_ref(&got), [42]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken by the append"
    );
    writer.await.unwrap();
}

pub async fn streams_worker_dead_letters_poison(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let key = st.key("jobs").unwrap();
    st.append("jobs", &1u32).await.unwrap();
    s.adapter()
        .xadd(&key, "poison"[..].into(), None)
        .await
        .unwrap();
    st.append("jobs", &2u32).await.unwrap();
    let worker = st
        .group("workers", "w1")
        .worker::<u32>("jobs")
        .block(Duration::from_millis(50))
        .reclaim_idle(Duration::from_millis(60))
        .dead_letter(3, "jobs:dead")
        .start();
    // The worker runs in a task, acknowledging what decodes and reporting
    // what it saw; the poison entry is never acknowledged.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut worker = worker;
        while let Some(delivery) = worker.next().await {
            let delivery = delivery.expect("no error");
            let seen = match &delivery.data {
                Ok(v) => {
                    assert!(delivery.ack().await.unwrap());
                    Ok(*v)
                }
                Err(e) => Err((e.code(), delivery.deliveries)),
            };
            if seen_tx.send(seen).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while st.len("jobs:dead").await.unwrap() == 0 {
        assert!(
            Instant::now() < deadline,
            "the poison entry never reached the dead-letter stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut done = Vec::new();
    let mut poison_deliveries = Vec::new();
    while let Ok(item) = seen.try_recv() {
        match item {
            Ok(v) => done.push(v),
            Err((code, deliveries)) => {
                assert_eq!(code, ErrorCode::DeserializationFailed);
                poison_deliveries.push(deliveries);
            }
        }
    }
    assert_eq!(
        poison_deliveries,
        [1, 2, 3],
        "delivered three times, then dead-lettered"
    );
    let dead = st.range::<u32>("jobs:dead").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].raw.as_deref(), Some(&b"poison"[..]));
    // and the worker goes on
    st.append("jobs", &3u32).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .expect("the worker goes on")
        .unwrap();
    assert_eq!(next, Ok(3));
    done.push(3);
    done.sort();
    assert_eq!(done, [1, 2, 3]);
    let pending = st.group("workers", "w1").pending("jobs").await.unwrap();
    assert_eq!(pending.count, 0, "nothing left pending");
    task.abort();
}

/// 10,000 entries, 4 consumers in one group; one consumer stops mid-way with
/// entries read but not acknowledged; the others reclaim them. Every entry is
/// acknowledged at least once and none is lost.
pub async fn streams_at_least_once(h: H) {
    const N: u32 = 10_000;
    let s = org(h, "o").await;
    let appenders: Vec<_> = (0..8u32)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in (t..N).step_by(8) {
                    s.streams().append("work", &i).await.unwrap();
                }
            })
        })
        .collect();
    for a in appenders {
        a.await.unwrap();
    }
    assert_eq!(s.streams().len("work").await.unwrap(), u64::from(N));
    s.streams().group("g", "dead").ensure("work").await.unwrap();

    // The consumer that dies: reads twice, acknowledges nothing.
    let dead = s.streams().group("g", "dead");
    let mut lost_with_it = 0;
    for _ in 0..2 {
        lost_with_it += dead.read::<u32>("work").count(100).await.unwrap().len();
    }
    assert_eq!(lost_with_it, 200);

    let acked: Arc<Mutex<HashSet<u32>>> = Arc::default();
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let (s, acked) = (s.clone(), acked.clone());
            tokio::spawn(async move {
                let name = format!("worker-{w}");
                let mut worker = s
                    .streams()
                    .group("g", &name)
                    .worker::<u32>("work")
                    .count(100)
                    .block(Duration::from_millis(50))
                    .reclaim_idle(Duration::from_millis(300))
                    .start();
                while let Some(delivery) = worker.next().await {
                    let delivery = delivery.expect("no error");
                    let value = *delivery.data.as_ref().expect("decodes");
                    delivery.ack().await.unwrap();
                    acked.lock().unwrap().insert(value);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() < N as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {N} entries acknowledged",
            acked.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for w in &workers {
        w.abort();
    }
    let all_acked = {
        let acked = acked.lock().unwrap();
        (0..N).all(|i| acked.contains(&i))
    };
    assert!(all_acked, "an entry was lost");
    let pending = s
        .streams()
        .group("g", "dead")
        .pending("work")
        .await
        .unwrap();
    assert_eq!(pending.count, 0, "everything acknowledged");
}

/// A worker whose group disappears (here: the tenant is purged, which
/// deletes the stream and its groups; on Redis also a restart without data)
/// creates the group again and delivers what is appended afterwards,
/// without yielding an error.
pub async fn streams_worker_recovers_when_its_group_is_gone(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    st.append("jobs", &1u32).await.unwrap();
    let worker = st
        .group("workers", "w1")
        .worker::<u32>("jobs")
        .block(Duration::from_millis(100))
        .reclaim_idle(Duration::from_secs(60))
        .start();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut worker = worker;
        while let Some(delivery) = worker.next().await {
            let seen = match delivery {
                Ok(delivery) => {
                    let v = delivery.data.as_ref().copied().expect("decodes");
                    delivery.ack().await.map(|_| v).map_err(|e| e.code())
                }
                Err(e) => Err(e.code()),
            };
            if seen_tx.send(seen).is_err() {
                break;
            }
        }
    });
    let next = async |seen: &mut tokio::sync::mpsc::UnboundedReceiver<_>| {
        tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .expect("the worker delivers within 10 s")
            .expect("the worker goes on")
    };
    assert_eq!(next(&mut seen).await, Ok(1));
    for round in 2..5u32 {
        // The worker is blocked in a read (or about to be) when its stream,
        // and so its group, goes.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            s.purge().await.unwrap() >= 1,
            "round {round}: the stream was purged"
        );
        assert_eq!(st.len("jobs").await.unwrap(), 0);
        st.append("jobs", &round).await.unwrap();
        assert_eq!(next(&mut seen).await, Ok(round), "round {round}");
    }
    task.abort();
}

pub async fn streams_group_moves_into_a_task(h: H) {
    fn owned<T: Clone + Send + Sync + 'static>(group: &T) -> T {
        group.clone()
    }
    let s = org(h, "o").await;
    // The handle of the statement is gone at its end: the group owns what it
    // needs, and takes its names as `&str` or `String`.
    let group = s.streams().group("g", String::from("c1"));
    group.ensure("jobs").await.unwrap();
    for i in 0..3u32 {
        s.streams().append("jobs", &i).await.unwrap();
    }
    let task = tokio::spawn({
        let group = owned(&group);
        async move {
            let entries = group.read::<u32>("jobs").count(10).await.unwrap();
            let acked = group.ack("jobs", &ids(&entries)).await.unwrap();
            (values(entries), acked)
        }
    });
    let (read, acked) = task.await.unwrap();
    assert_eq!(read, [0, 1, 2]);
    assert_eq!(acked, 3);
    // The original group sees what its clone did: one consumer, one group.
    assert_eq!(group.pending("jobs").await.unwrap().count, 0);
    assert!(group.pending_entries("jobs").await.unwrap().is_empty());
    assert!(group.read::<u32>("jobs").await.unwrap().is_empty());
}
