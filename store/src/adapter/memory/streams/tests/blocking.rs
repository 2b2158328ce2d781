//! Blocking group reads.

use super::*;

#[tokio::test(start_paused = true)]
async fn blocking_read_times_out_empty() {
    let a = MemoryAdapter::new();
    a.xgroup_create("s", "g", "$").await.unwrap();
    let started = Instant::now();
    let read = blocking("g", "c", Duration::from_millis(500));
    assert!(a.xreadgroup("s", &read).await.unwrap().is_empty());
    assert_eq!(started.elapsed(), Duration::from_millis(500));
    // an entry on another key wakes it, but it looks again and waits on
    a.xgroup_create("s", "g2", "$").await.unwrap();
    let reader = {
        let a = a.clone();
        let read = blocking("g2", "c", Duration::from_secs(2));
        tokio::spawn(async move { a.xreadgroup("s", &read).await })
    };
    settle().await;
    a.xadd("other", b("x"), None).await.unwrap();
    settle().await;
    assert!(!reader.is_finished());
    let started = Instant::now();
    assert!(reader.await.unwrap().unwrap().is_empty());
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn blocking_read_is_woken_by_xadd_and_holds_up_nothing() {
    let a = MemoryAdapter::new();
    a.xgroup_create("s", "g", "$").await.unwrap();
    let started = Instant::now();
    let spawn_reader = |block| {
        let a = a.clone();
        tokio::spawn(async move { a.xreadgroup("s", &blocking("g", "c", block)).await })
    };
    let reader = spawn_reader(Duration::from_secs(10));
    settle().await;
    // other operations go on while the read waits
    a.set("k", b("v"), SetOptions::default()).await.unwrap();
    assert_eq!(a.get("k").await.unwrap(), Some(b("v")));
    assert_eq!(a.xlen("s").await.unwrap(), 0);
    assert!(!reader.is_finished());
    let id = a.xadd("s", b("hello"), None).await.unwrap();
    let got = reader.await.unwrap().unwrap();
    assert_eq!(ids(&got), [id.as_str()]);
    assert_eq!(got[0].data, Some(b("hello")));
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no waiting for the block time"
    );
    let pending = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(pending.consumers, [("c".to_owned(), 1)]);

    // BLOCK 0 waits forever
    let reader = spawn_reader(Duration::ZERO);
    settle().await;
    advance(Duration::from_secs(3600)).await;
    settle().await;
    assert!(!reader.is_finished());
    a.xadd("s", b("late"), None).await.unwrap();
    assert_eq!(reader.await.unwrap().unwrap().len(), 1);

    // two readers, one entry each
    let count_one = || {
        let a = a.clone();
        let read = GroupRead {
            count: Some(1),
            ..blocking("g", "c", Duration::from_secs(10))
        };
        tokio::spawn(async move { a.xreadgroup("s", &read).await })
    };
    let (first, second) = (count_one(), count_one());
    settle().await;
    a.xadd("s", b("1"), None).await.unwrap();
    settle().await;
    assert!(
        first.is_finished() != second.is_finished(),
        "one of them got it"
    );
    a.xadd("s", b("2"), None).await.unwrap();
    assert_eq!(first.await.unwrap().unwrap().len(), 1);
    assert_eq!(second.await.unwrap().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn blocking_read_fails_when_its_stream_goes() {
    let a = MemoryAdapter::new();
    let spawn_reader = || {
        let a = a.clone();
        let read = blocking("g", "c", Duration::from_secs(10));
        tokio::spawn(async move { a.xreadgroup("s", &read).await })
    };
    let del = |a: &MemoryAdapter| {
        let a = a.clone();
        async move { a.del(&[Bytes::from_static(b"s")]).await.unwrap() }
    };
    // Redis: "UNBLOCKED the stream key no longer exists", which the Redis
    // adapter also reports as a missing group
    let gone = ErrorCode::StreamGroupNotFound;
    a.xgroup_create("s", "g", "$").await.unwrap();
    let reader = spawn_reader();
    settle().await;
    del(&a).await;
    assert_eq!(code(reader.await.unwrap()), gone);

    // deleted then made again: still the end of that read
    a.xgroup_create("s", "g", "$").await.unwrap();
    let reader = spawn_reader();
    settle().await;
    del(&a).await;
    a.xgroup_create("s", "g", "$").await.unwrap();
    a.xadd("s", b("x"), None).await.unwrap();
    assert_eq!(code(reader.await.unwrap()), gone);

    // overwritten by SET
    del(&a).await;
    a.xgroup_create("s", "g", "$").await.unwrap();
    let reader = spawn_reader();
    settle().await;
    a.set("s", b("v"), SetOptions::default()).await.unwrap();
    assert_eq!(code(reader.await.unwrap()), gone);

    // expired: when the key expires, not at the end of the block
    del(&a).await;
    a.xgroup_create("s", "g", "$").await.unwrap();
    a.pexpire("s", Duration::from_secs(5)).await.unwrap();
    let started = Instant::now();
    let reader = spawn_reader();
    settle().await;
    a.pexpire("s", Duration::from_millis(300)).await.unwrap();
    assert_eq!(code(reader.await.unwrap()), gone);
    assert_eq!(started.elapsed(), Duration::from_millis(300));

    a.xgroup_create("s", "g", "$").await.unwrap();
    let reader = spawn_reader();
    settle().await;
    a.close().await.unwrap();
    assert_eq!(code(reader.await.unwrap()), ErrorCode::NotConnected);
}

/// Reads that block forever on a multi-threaded runtime, each racing an
/// `XADD` from another task: every one is woken. (The race between a read's
/// look and its wait is too narrow to hit reliably here; the wake-up is
/// registered before the look, which is what makes it safe.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocked_reads_on_many_threads_are_woken() {
    let a = MemoryAdapter::new();
    let rounds = async {
        for round in 0..300 {
            let group = format!("g{round}");
            a.xgroup_create("s", &group, "$").await.unwrap();
            let reader = {
                let a = a.clone();
                let read = blocking(&group, "c", Duration::ZERO);
                tokio::spawn(async move { a.xreadgroup("s", &read).await })
            };
            if round % 2 == 0 {
                tokio::task::yield_now().await;
            }
            a.xadd("s", b("x"), None).await.unwrap();
            assert_eq!(reader.await.unwrap().unwrap().len(), 1);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), rounds)
        .await
        .expect("a blocked read was never woken");
}
