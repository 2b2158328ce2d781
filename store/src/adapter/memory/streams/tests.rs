//! The stream commands of the memory adapter, case by case; the expected
//! results of the subtle cases were taken from `redis-server` 7.0.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, advance};

use super::id::StreamId;
use super::*;
use crate::adapter::{KeyTtl, ScanCursor, SetCondition, SetOptions, StoreAdapter};

mod blocking;
mod groups;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The stream of the Redis sessions: entries `5-1 5-2 5-3 6-0 7-5`, each
/// holding `d<id>`.
const IDS: [(u64, u64); 5] = [(5, 1), (5, 2), (5, 3), (6, 0), (7, 5)];

/// A stream with entries at fixed ids, created as `XADD key <id> data d<id>`.
fn seed(a: &MemoryAdapter, key: &str, ids: &[(u64, u64)]) {
    let mut db = a.db();
    let now = db.begin(Instant::now);
    let stream = db.stream_or_create(key, now).unwrap();
    for &(ms, seq) in ids {
        let id = StreamId::new(ms, seq);
        stream.entries.insert(id, Some(b(&format!("d{id}"))));
        stream.last_id = stream.last_id.max(id);
    }
}

fn range(start: &str, end: &str) -> RangeQuery {
    RangeQuery {
        start: start.to_owned(),
        end: end.to_owned(),
        count: None,
        reverse: false,
    }
}

fn read(group: &str, consumer: &str, count: Option<usize>) -> GroupRead {
    GroupRead {
        group: group.to_owned(),
        consumer: consumer.to_owned(),
        count,
        block: None,
    }
}

fn blocking(group: &str, consumer: &str, block: Duration) -> GroupRead {
    GroupRead {
        block: Some(block),
        ..read(group, consumer, None)
    }
}

fn ids(entries: &[RawEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

fn code<T: std::fmt::Debug>(result: StoreResult<T>) -> ErrorCode {
    result.unwrap_err().code()
}

fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// A group `g` on the seeded stream `s`, every entry read by `c1`.
async fn all_pending() -> MemoryAdapter {
    let a = MemoryAdapter::new();
    seed(&a, "s", &IDS);
    assert!(a.xgroup_create("s", "g", "0").await.unwrap());
    assert_eq!(
        a.xreadgroup("s", &read("g", "c1", None))
            .await
            .unwrap()
            .len(),
        5
    );
    a
}

/// Lets spawned tasks run until they wait.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn xadd_ids_grow_from_the_wall_clock() {
    let a = MemoryAdapter::new();
    let before = wall_clock_ms();
    let mut last = (0, 0);
    for i in 0..500 {
        let id = parse_id(&a.xadd("s", b(&i.to_string()), None).await.unwrap());
        assert!(id > last, "{id:?} after {last:?}");
        last = id;
    }
    assert!(last.0 >= before && last.0 <= wall_clock_ms());
    assert_eq!(a.xlen("s").await.unwrap(), 500);
    let all = a.xrange("s", &range("-", "+")).await.unwrap();
    assert_eq!(all[7].data.as_deref(), Some(&b"7"[..]));

    // streamNextID: the clock, or one above the last id when the clock is behind
    let mut stream = StreamData::new(0);
    stream.last_id = StreamId::new(100, 5);
    assert_eq!(stream.next_id(200).unwrap(), StreamId::new(200, 0));
    assert_eq!(stream.next_id(100).unwrap(), StreamId::new(100, 6));
    assert_eq!(stream.next_id(50).unwrap(), StreamId::new(100, 6));
    stream.last_id = StreamId::new(100, u64::MAX);
    assert_eq!(stream.next_id(7).unwrap(), StreamId::new(101, 0));
    stream.last_id = StreamId::MAX;
    assert_eq!(code(stream.next_id(7)), ErrorCode::OperationFailed);
}

#[tokio::test]
async fn xadd_max_len_and_xtrim() {
    let a = MemoryAdapter::new();
    let mut added = Vec::new();
    for i in 0..10 {
        let max_len = MaxLen {
            len: 3,
            approximate: i % 2 == 0,
        };
        added.push(a.xadd("s", b(&i.to_string()), Some(max_len)).await.unwrap());
    }
    let kept = a.xrange("s", &range("-", "+")).await.unwrap();
    assert_eq!(ids(&kept), added[7..]);

    let exact = MaxLen {
        len: 1,
        approximate: false,
    };
    assert_eq!(a.xtrim("s", exact).await.unwrap(), 2);
    assert_eq!(a.xtrim("s", exact).await.unwrap(), 0);
    assert_eq!(a.xtrim("missing", exact).await.unwrap(), 0);
    assert!(!a.exists("missing").await.unwrap());

    // MAXLEN 0: the stream stays, empty, and its ids keep growing
    let last = a
        .xadd("s", b("x"), Some(MaxLen { len: 0, ..exact }))
        .await
        .unwrap();
    assert!(a.exists("s").await.unwrap());
    assert_eq!(a.xlen("s").await.unwrap(), 0);
    let next = a.xadd("s", b("y"), None).await.unwrap();
    assert!(parse_id(&next) > parse_id(&last));
}

#[tokio::test]
async fn xrange_bounds_as_redis_reads_them() {
    let a = MemoryAdapter::new();
    seed(&a, "s", &IDS);
    let all = ["5-1", "5-2", "5-3", "6-0", "7-5"];
    let long_valid = format!("{}5", "0".repeat(126));
    let long_invalid = format!("{}5", "0".repeat(127));
    let cases: &[(&str, &str, &[&str])] = &[
        ("-", "+", &all),
        ("5", "5", &all[..3]),
        ("(5", "+", &all),
        ("(5-1", "(6", &all[1..4]),
        ("-", "(7", &all),
        ("6", "5", &[]),
        ("-", "(0", &[]),
        ("18446744073709551615", "+", &[]),
        // string2ull: strtoull after a strict integer
        (" 5", "+", &all),
        ("\t5", "+", &all),
        ("+5", "+", &all),
        ("05-02", "+", &all[1..]),
        ("5- 3", "+", &all[2..]),
        ("0--01", "+", &all),
        (&long_valid, "+", &all),
        // a C string ends at its first NUL
        ("-", "5\0x", &all[..3]),
        ("-", "5-2\0x", &all[..2]),
    ];
    for (start, end, expected) in cases {
        let got = a.xrange("s", &range(start, end)).await.unwrap();
        assert_eq!(ids(&got), *expected, "{start:?} {end:?}");
    }
    let invalid: &[(&str, &str)] = &[
        ("(-", "+"),
        ("-", "(+"),
        ("5-", "+"),
        ("-5", "+"),
        ("5-1-1", "+"),
        ("x", "+"),
        ("(", "+"),
        ("((5", "+"),
        ("5 ", "+"),
        ("5--1", "+"),
        ("5-*", "+"),
        ("18446744073709551616", "+"),
        (&long_invalid, "+"),
        ("(18446744073709551615-18446744073709551615", "+"),
        ("-", "(0-0"),
    ];
    for (start, end) in invalid {
        let err = code(a.xrange("s", &range(start, end)).await);
        assert_eq!(err, ErrorCode::StreamIdInvalid, "{start:?} {end:?}");
    }

    let count = |n| RangeQuery {
        count: Some(n),
        ..range("-", "+")
    };
    assert!(a.xrange("s", &count(0)).await.unwrap().is_empty());
    assert_eq!(ids(&a.xrange("s", &count(2)).await.unwrap()), all[..2]);
    // reverse: start stays the low bound (XREVRANGE key end start)
    let reverse = |start: &str, end: &str, count| RangeQuery {
        count,
        reverse: true,
        ..range(start, end)
    };
    let got = a.xrange("s", &reverse("-", "+", Some(2))).await.unwrap();
    assert_eq!(ids(&got), ["7-5", "6-0"]);
    let got = a.xrange("s", &reverse("5-2", "6", None)).await.unwrap();
    assert_eq!(ids(&got), ["6-0", "5-3", "5-2"]);
    let got = a.xrange("s", &reverse("5", "(6", None)).await.unwrap();
    assert_eq!(ids(&got), ["6-0", "5-3", "5-2", "5-1"]);
    assert!(
        a.xrange("s", &reverse("6", "5", None))
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        a.xrange("nokey", &range("-", "+"))
            .await
            .unwrap()
            .is_empty()
    );
    let err = code(a.xrange("nokey", &range("bad", "+")).await);
    assert_eq!(err, ErrorCode::StreamIdInvalid);
}

#[tokio::test(start_paused = true)]
async fn string_commands_on_a_stream_and_stream_commands_on_a_string() {
    let a = MemoryAdapter::new();
    a.xadd("s", b("x"), None).await.unwrap();
    a.set("k", b("1"), SetOptions::default()).await.unwrap();
    let wrong = ErrorCode::WrongType;

    assert_eq!(code(a.get("s").await), wrong);
    assert_eq!(code(a.incr_by("s", 1, None).await), wrong);
    assert_eq!(code(a.compare_and_delete("s", b"x").await), wrong);
    let ttl = Duration::from_secs(1);
    assert_eq!(code(a.compare_and_expire("s", b"x", ttl).await), wrong);
    assert_eq!(code(a.claim_acquire("c", "s", "n", ttl).await), wrong);
    assert_eq!(a.claim_acquire("s", "f", "n", ttl).await.unwrap(), None);
    let keys = ["s".to_owned(), "k".to_owned()];
    assert_eq!(a.mget(&keys).await.unwrap(), [None, Some(b("1"))]);
    let nx = SetOptions::new(None, SetCondition::IfAbsent);
    assert!(!a.set("s", b("v"), nx).await.unwrap());
    assert_eq!(a.xlen("s").await.unwrap(), 1);
    assert!(a.exists("s").await.unwrap());
    assert_eq!(a.pttl("s").await.unwrap(), KeyTtl::Persistent);
    assert!(a.pexpire("s", Duration::from_secs(5)).await.unwrap());
    assert_eq!(
        a.pttl("s").await.unwrap(),
        KeyTtl::Expires(Duration::from_secs(5))
    );
    assert!(a.persist("s").await.unwrap());
    let page = a.scan(&ScanCursor::start(), "*", 10).await.unwrap();
    assert_eq!(page.keys, ["k", "s"]);

    let max_len = MaxLen {
        len: 1,
        approximate: false,
    };
    let ids = ["1-0".to_owned()];
    assert_eq!(code(a.xadd("k", b("x"), None).await), wrong);
    assert_eq!(code(a.xrange("k", &range("-", "+")).await), wrong);
    assert_eq!(code(a.xlen("k").await), wrong);
    assert_eq!(code(a.xtrim("k", max_len).await), wrong);
    assert_eq!(code(a.xgroup_create("k", "g", "0").await), wrong);
    assert_eq!(code(a.xgroup_create("k", "g", "bad").await), wrong);
    assert_eq!(code(a.xgroup_delconsumer("k", "g", "c").await), wrong);
    assert_eq!(code(a.xreadgroup("k", &read("g", "c", None)).await), wrong);
    let block = blocking("g", "c", Duration::from_secs(1));
    assert_eq!(code(a.xreadgroup("k", &block).await), wrong);
    assert_eq!(code(a.xack("k", "g", &ids).await), wrong);
    assert_eq!(code(a.xpending_summary("k", "g").await), wrong);
    assert_eq!(
        code(a.xpending("k", "g", &range("-", "+"), None).await),
        wrong
    );
    let claim = read("g", "c", None);
    assert_eq!(code(a.xautoclaim("k", &claim, ttl, "0").await), wrong);
    // arguments are checked before the type, as Redis does
    let invalid = ErrorCode::StreamIdInvalid;
    assert_eq!(code(a.xrange("k", &range("bad", "+")).await), invalid);
    assert_eq!(
        code(a.xpending("k", "g", &range("bad", "+"), None).await),
        invalid
    );
    assert_eq!(code(a.xautoclaim("k", &claim, ttl, "bad").await), invalid);
    let zero = read("g", "c", Some(0));
    let failed = ErrorCode::OperationFailed;
    assert_eq!(code(a.xautoclaim("k", &zero, ttl, "0").await), failed);

    // SET and MSET overwrite a stream; DEL and expiry remove one
    a.set("s", b("v"), SetOptions::default()).await.unwrap();
    assert_eq!(a.get("s").await.unwrap(), Some(b("v")));
    a.xadd("t", b("x"), None).await.unwrap();
    assert_eq!(a.del(&[Bytes::from_static(b"t")]).await.unwrap(), 1);
    a.xadd("t", b("x"), None).await.unwrap();
    a.pexpire("t", Duration::from_millis(100)).await.unwrap();
    advance(Duration::from_millis(100)).await;
    assert!(!a.exists("t").await.unwrap());
    assert_eq!(a.xlen("t").await.unwrap(), 0);
}
