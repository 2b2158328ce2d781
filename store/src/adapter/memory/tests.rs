//! Expiry of many keys at once (issue 13, item 9): an operation reclaims a
//! bounded number of expired keys, never all of them under the lock, and a
//! key expired but not yet reclaimed is absent for every operation.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::advance;

use super::db::RECLAIM_PER_OPERATION;
use super::*;
use crate::adapter::{GroupRead, KeyTtl, MaxLen, MsetEntry, RangeQuery, ScanCursor};

/// Keys of tenant `a` expiring together: enough that reclaiming them at once
/// is the stall of the issue, few enough for a debug build.
const EXPIRING: usize = 100_000;

const TTL: Duration = Duration::from_millis(200);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The output of a memory command, which completes on its first poll.
fn now<T>(command: impl std::future::Future<Output = T>) -> T {
    futures::FutureExt::now_or_never(command).expect("a memory command completes at once")
}

fn stored(a: &MemoryAdapter) -> usize {
    a.db().stored().0
}

fn is_stored(a: &MemoryAdapter, key: &str) -> bool {
    a.db().is_stored(key)
}

fn read(group: &str) -> GroupRead {
    GroupRead {
        group: group.to_owned(),
        consumer: "c".to_owned(),
        count: None,
        block: None,
    }
}

fn all() -> RangeQuery {
    RangeQuery {
        start: "-".to_owned(),
        end: "+".to_owned(),
        count: None,
        reverse: false,
    }
}

/// `EXPIRING` keys `a:000000`... with one TTL, written in one `MSET`.
async fn fill(a: &MemoryAdapter) {
    let entries = (0..EXPIRING)
        .map(|i| MsetEntry {
            key: format!("a:{i:06}"),
            value: b("v"),
            ttl: Some(TTL),
        })
        .collect();
    a.mset(entries).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn one_operation_reclaims_a_bounded_number_of_expired_keys() {
    let a = MemoryAdapter::new();
    now(a.set("b:keep", b("kept"), SetOptions::default())).unwrap();
    fill(&a).await;
    advance(TTL + Duration::from_millis(1)).await;
    // Nothing ran since the keys expired: all of them are still stored.
    assert_eq!(stored(&a), EXPIRING + 1);

    // One get on the other tenant: it reclaims some, not all of them.
    assert_eq!(now(a.get("b:keep")).unwrap(), Some(b("kept")));
    let left = stored(&a);
    assert_eq!(left, EXPIRING + 1 - RECLAIM_PER_OPERATION);

    // As operations flow, every expired key is reclaimed, and no sooner than
    // the bound allows.
    let mut operations = 1;
    while stored(&a) > 1 {
        assert!(now(a.exists("b:keep")).unwrap());
        operations += 1;
        assert!(operations <= EXPIRING.div_ceil(RECLAIM_PER_OPERATION));
    }
    assert_eq!(operations, EXPIRING.div_ceil(RECLAIM_PER_OPERATION));
    assert_eq!(a.db().stored(), (1, 0));
    assert_eq!(a.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_writer_of_new_keys_reclaims_as_many_expired_keys() {
    let a = MemoryAdapter::new();
    fill(&a).await;
    advance(TTL).await;
    // 1,000 new keys, without TTL: each reclaims one expired key, besides the
    // operation's own share, so the map does not grow while expired keys are
    // left in it.
    let entries = (0..1_000)
        .map(|i| MsetEntry {
            key: format!("b:{i}"),
            value: b("v"),
            ttl: None,
        })
        .collect();
    a.mset(entries).await.unwrap();
    assert_eq!(stored(&a), EXPIRING - RECLAIM_PER_OPERATION);
    assert_eq!(a.len(), 1_000);
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_not_yet_reclaimed_is_absent_for_every_operation() {
    let a = MemoryAdapter::new();
    let nx = SetOptions::new(Some(TTL), SetCondition::IfAbsent);
    now(a.set("b:keep", b("kept"), SetOptions::default())).unwrap();
    // Keys of every kind, named to sort after the filler keys, so that they
    // are reclaimed last (the filler keys share their deadline).
    now(a.set("a:~str", b("old"), nx)).unwrap();
    now(a.set("a:~nx", b("old"), nx)).unwrap();
    now(a.incr_by("a:~counter", 41, Some(TTL))).unwrap();
    let first = a
        .claim_acquire("a:~claim", "a:~fence", "n1", TTL)
        .await
        .unwrap()
        .unwrap();
    assert!(a.pexpire("a:~fence", TTL).await.unwrap());
    a.xadd("a:~stream", b("e1"), None).await.unwrap();
    assert!(a.xgroup_create("a:~stream", "g", "0").await.unwrap());
    assert!(a.pexpire("a:~stream", TTL).await.unwrap());
    fill(&a).await;
    advance(TTL).await;

    let keys = [
        "a:~str",
        "a:~nx",
        "a:~counter",
        "a:~claim",
        "a:~fence",
        "a:~stream",
        "a:099999",
    ];
    let all_stored = |a: &MemoryAdapter| keys.iter().all(|k| is_stored(a, k));
    assert!(all_stored(&a));

    // Reads.
    assert_eq!(now(a.get("a:~str")).unwrap(), None);
    assert_eq!(now(a.get("a:099999")).unwrap(), None);
    assert!(!now(a.exists("a:~str")).unwrap());
    assert_eq!(
        a.mget(&[
            "a:~str".to_owned(),
            "b:keep".to_owned(),
            "a:~stream".to_owned()
        ])
        .await
        .unwrap(),
        vec![None, Some(b("kept")), None]
    );
    assert_eq!(a.pttl("a:~str").await.unwrap(), KeyTtl::Missing);
    assert!(!a.persist("a:~str").await.unwrap());
    assert!(!a.pexpire("a:~str", TTL).await.unwrap());
    assert!(!a.compare_and_expire("a:~str", b"old", TTL).await.unwrap());
    assert!(!a.compare_and_delete("a:~str", b"old").await.unwrap());
    assert_eq!(a.len(), 1);
    assert!(!a.is_empty());

    // SCAN: one page covering every key returns only the live one, and the
    // expired keys of tenant `a` none, however they are paged.
    let page = a.scan(&ScanCursor::start(), "*", 1_000_000).await.unwrap();
    assert_eq!(page.keys, vec!["b:keep".to_owned()]);
    assert!(page.cursor.is_done());
    let page = a.scan(&ScanCursor::start(), "a:~*", 2).await.unwrap();
    assert!(page.keys.is_empty());
    let mut cursor = page.cursor;
    while !cursor.is_done() {
        let page = a.scan(&cursor, "a:~*", 2).await.unwrap();
        assert!(page.keys.is_empty());
        cursor = page.cursor;
    }

    // Streams: the expired stream is missing for reads, and XADD starts a
    // new one, without the old group.
    assert_eq!(a.xlen("a:~stream").await.unwrap(), 0);
    assert!(a.xrange("a:~stream", &all()).await.unwrap().is_empty());
    assert!(a.xreadgroup("a:~stream", &read("g")).await.is_err());
    assert_eq!(
        a.xtrim(
            "a:~stream",
            MaxLen {
                len: 0,
                approximate: false
            }
        )
        .await
        .unwrap(),
        0
    );
    assert!(a.xpending_summary("a:~stream", "g").await.is_err());
    assert!(all_stored(&a));
    a.xadd("a:~stream", b("e2"), None).await.unwrap();
    assert_eq!(a.xlen("a:~stream").await.unwrap(), 1);
    assert!(a.xreadgroup("a:~stream", &read("g")).await.is_err());
    assert_eq!(a.pttl("a:~stream").await.unwrap(), KeyTtl::Persistent);

    // Writes: each sees the key as missing.
    assert!(now(a.set("a:~nx", b("new"), nx)).unwrap());
    assert_eq!(now(a.get("a:~nx")).unwrap(), Some(b("new")));
    assert_eq!(a.pttl("a:~nx").await.unwrap(), KeyTtl::Expires(TTL));
    // INCR restarts at 0, with the TTL of a new counter.
    let ttl = Duration::from_secs(10);
    assert_eq!(now(a.incr_by("a:~counter", 1, Some(ttl))).unwrap(), 1);
    assert_eq!(a.pttl("a:~counter").await.unwrap(), KeyTtl::Expires(ttl));
    // The claim is free again; its fence counter is gone, so the token comes
    // from the clock, still above the first.
    let second = a
        .claim_acquire("a:~claim", "a:~fence", "n2", TTL)
        .await
        .unwrap()
        .unwrap();
    assert!(second > first, "{second} after {first}");
    let owner = format!("{second}:n2");
    assert_eq!(now(a.get("a:~claim")).unwrap(), Some(b(&owner)));
    // DEL of an expired key counts it as missing.
    assert_eq!(a.del(&[Bytes::from_static(b"a:099999")]).await.unwrap(), 0);
    assert!(!is_stored(&a, "a:099999"));
    assert_eq!(a.len(), 6);
}
