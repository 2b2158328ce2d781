//! Consumer groups: creation, reads, acknowledgements, pending entries,
//! consumers and XAUTOCLAIM.

use super::*;

#[tokio::test]
async fn xgroup_create_start_ids() {
    let a = MemoryAdapter::new();
    // MKSTREAM: an empty stream without a TTL
    assert!(a.xgroup_create("new", "g", "$").await.unwrap());
    assert!(a.exists("new").await.unwrap());
    assert_eq!(a.xlen("new").await.unwrap(), 0);
    assert_eq!(a.pttl("new").await.unwrap(), KeyTtl::Persistent);
    assert!(
        !a.xgroup_create("new", "g", "0").await.unwrap(),
        "BUSYGROUP"
    );
    for bad in ["-", "+", "(5", "bad", "5-*", "5-"] {
        let err = code(a.xgroup_create("other", "g", bad).await);
        assert_eq!(err, ErrorCode::StreamIdInvalid, "{bad}");
    }
    assert!(
        !a.exists("other").await.unwrap(),
        "no stream for an invalid id"
    );

    seed(&a, "s", &IDS);
    let created = [
        ("last", "$"),
        ("all", "0"),
        ("after5", "5"),
        ("spaced", " 5-2"),
    ];
    for (group, start) in created {
        assert!(a.xgroup_create("s", group, start).await.unwrap());
    }
    assert!(a.xgroup_create("s", "future", "100-0").await.unwrap());
    let got = |group: &'static str| {
        let a = a.clone();
        async move { a.xreadgroup("s", &read(group, "c", None)).await.unwrap() }
    };
    assert!(got("last").await.is_empty());
    assert_eq!(got("all").await.len(), 5);
    assert_eq!(
        ids(&got("after5").await),
        ["5-1", "5-2", "5-3", "6-0", "7-5"]
    );
    assert_eq!(ids(&got("spaced").await), ["5-3", "6-0", "7-5"]);
    assert!(got("future").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn xreadgroup_delivers_new_entries_once() {
    let a = MemoryAdapter::new();
    seed(&a, "s", &IDS);
    let nogroup = ErrorCode::StreamGroupNotFound;
    assert_eq!(
        code(a.xreadgroup("nokey", &read("g", "c", None)).await),
        nogroup
    );
    a.xgroup_create("s", "g", "0").await.unwrap();
    assert_eq!(
        code(a.xreadgroup("s", &read("nog", "c", None)).await),
        nogroup
    );
    let block = blocking("nog", "c", Duration::from_secs(60));
    assert_eq!(code(a.xreadgroup("s", &block).await), nogroup, "at once");

    let first = a.xreadgroup("s", &read("g", "c1", Some(2))).await.unwrap();
    assert_eq!(ids(&first), ["5-1", "5-2"]);
    assert_eq!(first[0].data, Some(b("d5-1")));
    // COUNT 0 is no limit
    let rest = a.xreadgroup("s", &read("g", "c2", Some(0))).await.unwrap();
    assert_eq!(ids(&rest), ["5-3", "6-0", "7-5"]);
    assert!(
        a.xreadgroup("s", &read("g", "c1", None))
            .await
            .unwrap()
            .is_empty()
    );
    let summary = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(summary.count, 5);
    let per_consumer = [("c1".to_owned(), 2), ("c2".to_owned(), 3)];
    assert_eq!(summary.consumers, per_consumer);

    // another group reads the same entries
    a.xgroup_create("s", "other", "0").await.unwrap();
    let again = a.xreadgroup("s", &read("other", "c1", None)).await.unwrap();
    assert_eq!(again.len(), 5);
    let id = a.xadd("s", b("new"), None).await.unwrap();
    let new = a.xreadgroup("s", &read("g", "c1", None)).await.unwrap();
    assert_eq!(ids(&new), [id.as_str()]);
}

#[tokio::test]
async fn xack_counts_what_was_pending() {
    let a = all_pending().await;
    let owned = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // no key or no group: nothing to acknowledge, the ids are not checked
    assert_eq!(a.xack("nokey", "g", &owned(&["bad"])).await.unwrap(), 0);
    assert_eq!(a.xack("s", "nog", &owned(&["bad"])).await.unwrap(), 0);
    assert_eq!(a.xack("s", "g", &[]).await.unwrap(), 0);
    // all or nothing
    let err = code(a.xack("s", "g", &owned(&["5-1", "bad"])).await);
    assert_eq!(err, ErrorCode::StreamIdInvalid);
    assert_eq!(a.xpending_summary("s", "g").await.unwrap().count, 5);
    let ids = owned(&["5-2", "5-2", "5-3", "9-9", "5"]);
    assert_eq!(a.xack("s", "g", &ids).await.unwrap(), 2);
    let summary = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(summary.count, 3);
    assert_eq!(summary.min_id.as_deref(), Some("5-1"));
    assert_eq!(summary.max_id.as_deref(), Some("7-5"));
    assert_eq!(summary.consumers, [("c1".to_owned(), 3)]);
    assert_eq!(
        a.xack("s", "g", &owned(&["5-1", "6", "7-5"]))
            .await
            .unwrap(),
        3
    );
    let empty = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(
        empty,
        PendingSummary::default(),
        "no consumer without pending entries"
    );
}

#[tokio::test(start_paused = true)]
async fn xpending_idle_times_and_deliveries() {
    let a = MemoryAdapter::new();
    seed(&a, "s", &IDS);
    a.xgroup_create("s", "g", "0").await.unwrap();
    a.xreadgroup("s", &read("g", "c2", Some(3))).await.unwrap();
    advance(Duration::from_millis(100)).await;
    a.xreadgroup("s", &read("g", "c1", None)).await.unwrap();
    advance(Duration::from_millis(50)).await;

    let summary = a.xpending_summary("s", "g").await.unwrap();
    let sorted = [("c1".to_owned(), 2), ("c2".to_owned(), 3)];
    assert_eq!((summary.count, summary.consumers), (5, sorted.to_vec()));
    let all = a.xpending("s", "g", &range("-", "+"), None).await.unwrap();
    let rows: Vec<_> = all
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.consumer.as_str(),
                p.idle.as_millis(),
                p.deliveries,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("5-1", "c2", 150, 1),
            ("5-2", "c2", 150, 1),
            ("5-3", "c2", 150, 1),
            ("6-0", "c1", 50, 1),
            ("7-5", "c1", 50, 1),
        ]
    );
    let of = |consumer, start: &str| {
        let a = a.clone();
        let query = range(start, "+");
        async move {
            let got = a.xpending("s", "g", &query, Some(consumer)).await.unwrap();
            got.into_iter().map(|p| p.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(of("c1", "-").await, ["6-0", "7-5"]);
    assert_eq!(of("c2", "(5-1").await, ["5-2", "5-3"]);
    assert!(of("nobody", "-").await.is_empty());
    let counted = |count| RangeQuery {
        count: Some(count),
        ..range("-", "+")
    };
    assert!(
        a.xpending("s", "g", &counted(0), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        a.xpending("s", "g", &counted(2), None).await.unwrap().len(),
        2
    );

    let nogroup = ErrorCode::StreamGroupNotFound;
    assert_eq!(code(a.xpending_summary("nokey", "g").await), nogroup);
    assert_eq!(code(a.xpending_summary("s", "nog").await), nogroup);
    assert_eq!(
        code(a.xpending("nokey", "g", &range("-", "+"), None).await),
        nogroup
    );
    let err = code(a.xpending("nokey", "g", &range("bad", "+"), None).await);
    assert_eq!(err, ErrorCode::StreamIdInvalid, "the ids first");

    // without a count: at most 100, as the Redis adapter asks
    let many: Vec<_> = (1..=150).map(|ms| (ms, 0)).collect();
    seed(&a, "big", &many);
    a.xgroup_create("big", "g", "0").await.unwrap();
    a.xreadgroup("big", &read("g", "c", None)).await.unwrap();
    let page = a
        .xpending("big", "g", &range("-", "+"), None)
        .await
        .unwrap();
    assert_eq!(page.len(), DEFAULT_COUNT);
}

#[tokio::test]
async fn xgroup_delconsumer_drops_its_pending_entries() {
    let a = MemoryAdapter::new();
    seed(&a, "s", &IDS);
    a.xgroup_create("s", "g", "0").await.unwrap();
    a.xreadgroup("s", &read("g", "c1", Some(2))).await.unwrap();
    a.xreadgroup("s", &read("g", "c2", None)).await.unwrap();
    assert_eq!(a.xgroup_delconsumer("s", "g", "nobody").await.unwrap(), 0);
    assert_eq!(a.xgroup_delconsumer("s", "g", "c2").await.unwrap(), 3);
    let summary = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(
        (summary.count, summary.consumers),
        (2, vec![("c1".to_owned(), 2)])
    );
    assert_eq!(a.xgroup_delconsumer("s", "g", "c2").await.unwrap(), 0);
    assert_eq!(a.xgroup_delconsumer("s", "g", "c1").await.unwrap(), 2);
    assert_eq!(a.xpending_summary("s", "g").await.unwrap().count, 0);
    // the entries stay delivered: the group does not read them again
    assert!(
        a.xreadgroup("s", &read("g", "c1", None))
            .await
            .unwrap()
            .is_empty()
    );
    let err = code(a.xgroup_delconsumer("s", "nog", "c").await);
    assert_eq!(err, ErrorCode::StreamGroupNotFound);
    // Redis: "ERR The XGROUP subcommand requires the key to exist"
    let err = code(a.xgroup_delconsumer("nokey", "g", "c").await);
    assert_eq!(err, ErrorCode::StreamGroupNotFound);
}

#[tokio::test]
async fn xautoclaim_moves_entries_and_counts_deliveries() {
    let a = all_pending().await;
    let owned = ["5-2".to_owned(), "5-3".to_owned()];
    a.xack("s", "g", &owned).await.unwrap();
    let zero = Duration::ZERO;
    let claim = a
        .xautoclaim("s", &read("g", "c2", Some(1)), zero, "0")
        .await;
    let claim = claim.unwrap();
    assert_eq!(
        (claim.next.as_str(), ids(&claim.entries)),
        ("6-0", vec!["5-1"])
    );
    assert_eq!(claim.entries[0].data, Some(b("d5-1")));
    assert!(claim.deleted.is_empty());
    let rows = |a: MemoryAdapter| async move {
        let all = a.xpending("s", "g", &range("-", "+"), None).await.unwrap();
        all.into_iter()
            .map(|p| (p.id, p.consumer, p.deliveries))
            .collect::<Vec<_>>()
    };
    let row = |id: &str, consumer: &str, n| (id.to_owned(), consumer.to_owned(), n);
    let expected = [
        row("5-1", "c2", 2),
        row("6-0", "c1", 1),
        row("7-5", "c1", 1),
    ];
    assert_eq!(rows(a.clone()).await, expected);

    let claim = a.xautoclaim("s", &read("g", "c2", None), zero, "0").await;
    let claim = claim.unwrap();
    assert_eq!(
        (claim.next.as_str(), ids(&claim.entries)),
        ("0-0", vec!["5-1", "6-0", "7-5"])
    );
    let expected = [
        row("5-1", "c2", 3),
        row("6-0", "c2", 2),
        row("7-5", "c2", 2),
    ];
    assert_eq!(rows(a.clone()).await, expected);
    let summary = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(summary.consumers, [("c2".to_owned(), 3)]);

    let claim = a
        .xautoclaim("s", &read("g", "c2", None), zero, "(5-1")
        .await;
    assert_eq!(ids(&claim.unwrap().entries), ["6-0", "7-5"]);
    let long = Duration::from_secs(100);
    let claim = a.xautoclaim("s", &read("g", "c2", None), long, "0").await;
    assert_eq!(
        claim.unwrap(),
        AutoClaim {
            next: "0-0".into(),
            ..AutoClaim::default()
        }
    );

    let err = code(a.xautoclaim("s", &read("g", "c", Some(0)), zero, "0").await);
    assert_eq!(err, ErrorCode::OperationFailed, "COUNT must be > 0");
    let nogroup = ErrorCode::StreamGroupNotFound;
    assert_eq!(
        code(a.xautoclaim("s", &read("nog", "c", None), zero, "0").await),
        nogroup
    );
    assert_eq!(
        code(
            a.xautoclaim("nokey", &read("g", "c", None), zero, "0")
                .await
        ),
        nogroup
    );
    let err = code(
        a.xautoclaim("nokey", &read("g", "c", None), zero, "bad")
            .await,
    );
    assert_eq!(err, ErrorCode::StreamIdInvalid);
}

#[tokio::test(start_paused = true)]
async fn xautoclaim_waits_for_the_idle_time() {
    let a = all_pending().await;
    let min_idle = Duration::from_millis(100);
    advance(Duration::from_millis(99)).await;
    let claim = a
        .xautoclaim("s", &read("g", "c2", None), min_idle, "0")
        .await;
    assert!(claim.unwrap().entries.is_empty());
    advance(Duration::from_millis(1)).await;
    let claim = a
        .xautoclaim("s", &read("g", "c2", Some(2)), min_idle, "0")
        .await;
    let claim = claim.unwrap();
    assert_eq!(
        (claim.next.as_str(), ids(&claim.entries)),
        ("5-3", vec!["5-1", "5-2"])
    );
    let pending = a
        .xpending("s", "g", &range("-", "5-2"), None)
        .await
        .unwrap();
    assert!(
        pending
            .iter()
            .all(|p| p.idle.is_zero() && p.consumer == "c2")
    );
    // idle times are whole milliseconds and the minimum is rounded up, as the
    // Redis adapter sends it: 100.5 ms idle is not 100.001 ms idle
    advance(Duration::from_micros(100_500)).await;
    let fine = Duration::from_micros(100_001);
    let claim = a
        .xautoclaim("s", &read("g", "c3", Some(2)), fine, "0")
        .await;
    let claim = claim.unwrap();
    assert_eq!(
        (claim.next.as_str(), ids(&claim.entries)),
        ("7-5", vec!["5-3", "6-0"])
    );
}

/// The session run on Redis 7.0: 30 entries pending, the oldest five
/// trimmed away.
#[tokio::test]
async fn xautoclaim_scans_at_most_ten_times_count_and_drops_deleted_entries() {
    let a = MemoryAdapter::new();
    let thirty: Vec<_> = (1..=30).map(|ms| (ms, 0)).collect();
    seed(&a, "s", &thirty);
    a.xgroup_create("s", "g", "0").await.unwrap();
    a.xreadgroup("s", &read("g", "c", Some(30))).await.unwrap();
    let claim = |count, min_idle: u64, start: &str| {
        let a = a.clone();
        let start = start.to_owned();
        async move {
            let read = read("g", "c2", Some(count));
            let min_idle = Duration::from_secs(min_idle);
            let got = a.xautoclaim("s", &read, min_idle, &start).await.unwrap();
            let entries = got.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
            (got.next, entries, got.deleted)
        }
    };
    let v = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(claim(1, 1000, "0").await, ("11-0".into(), v(&[]), v(&[])));
    assert_eq!(claim(2, 1000, "11-0").await, ("0-0".into(), v(&[]), v(&[])));
    assert_eq!(claim(1, 1000, "29-0").await, ("0-0".into(), v(&[]), v(&[])));
    let max_len = MaxLen {
        len: 25,
        approximate: false,
    };
    assert_eq!(a.xtrim("s", max_len).await.unwrap(), 5);
    let deleted = v(&["1-0", "2-0", "3-0"]);
    assert_eq!(claim(3, 0, "0").await, ("4-0".into(), v(&[]), deleted));
    let summary = a.xpending_summary("s", "g").await.unwrap();
    assert_eq!(
        (summary.count, summary.min_id.as_deref()),
        (27, Some("4-0"))
    );
    let deleted = v(&["4-0", "5-0"]);
    assert_eq!(
        claim(3, 0, "3-0").await,
        ("7-0".into(), v(&["6-0"]), deleted)
    );
    assert_eq!(claim(1, 1000, "0").await, ("16-0".into(), v(&[]), v(&[])));
    assert_eq!(
        claim(1, 0, "30-0").await,
        ("0-0".into(), v(&["30-0"]), v(&[]))
    );
    let summary = a.xpending_summary("s", "g").await.unwrap();
    let consumers = [("c".to_owned(), 23), ("c2".to_owned(), 2)];
    assert_eq!((summary.count, summary.consumers), (25, consumers.to_vec()));
}
