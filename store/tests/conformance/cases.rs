//! The cases of the conformance suite, one `pub async fn` each.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use igniter_store::adapter::{
    AutoClaim, Backend, ConsumerInfo, GroupInfo, GroupRead, MaxLen, MsetEntry, PendingEntry,
    PendingSummary, RangeQuery, RawEntry, RawSubscription, ScanReply, SetOptions, TopicKind,
};
use igniter_store::{
    ErrorCode, Store, StoreAdapter, StoreResult, adapter::KeyTtl, adapter::ScanCursor,
    batch::BatchEntry, key::Namespace,
};
use serde::{Deserialize, Serialize};

use super::{Harness, LONG, Org, SHORT, Tenant, store, tenant};

pub type H = &'static dyn Harness;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Config {
    theme: String,
    limit: u32,
}

pub async fn org(h: H, id: &str) -> Org {
    store(h)
        .await
        .scope(tenant::Organization, id)
        .expect("scope")
}

fn code<T: std::fmt::Debug>(r: StoreResult<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Sleeps past a short TTL: long enough on any backend's clock.
async fn past(ttl: Duration) {
    tokio::time::sleep(ttl + Duration::from_millis(30)).await;
}

pub async fn kv_round_trip(h: H) {
    let s = org(h, "o1").await;
    let cfg = Config {
        theme: "dark".into(),
        limit: 3,
    };
    s.kv().set("config", &cfg).await.unwrap();
    assert_eq!(s.kv().get::<Config>("config").await.unwrap(), Some(cfg));
    assert!(s.kv().exists("config").await.unwrap());
    s.kv()
        .set(
            "config",
            &Config {
                theme: "light".into(),
                limit: 4,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        s.kv().get::<Config>("config").await.unwrap().unwrap().theme,
        "light"
    );
    // keys may hold ':' and glob characters: they are the tail
    s.kv().set("user:1:[a]*", &1).await.unwrap();
    assert_eq!(s.kv().get::<i32>("user:1:[a]*").await.unwrap(), Some(1));
}

pub async fn kv_missing_and_remove(h: H) {
    let s = org(h, "o1").await;
    assert_eq!(s.kv().get::<String>("nope").await.unwrap(), None);
    assert!(!s.kv().exists("nope").await.unwrap());
    assert!(!s.kv().remove("nope").await.unwrap());
    s.kv().set("k", &"v").await.unwrap();
    assert!(s.kv().remove("k").await.unwrap());
    assert_eq!(s.kv().get::<String>("k").await.unwrap(), None);
    assert!(!s.kv().expire("nope", LONG).await.unwrap());
    assert!(!s.kv().persist("nope").await.unwrap());
    assert_eq!(s.kv().ttl("nope").await.unwrap(), KeyTtl::Missing);
}

pub async fn kv_ttl_expire_persist(h: H) {
    let s = org(h, "o1").await;
    s.kv().set("k", &1).await.unwrap();
    assert_eq!(s.kv().ttl("k").await.unwrap(), KeyTtl::Persistent);
    assert!(s.kv().expire("k", LONG).await.unwrap());
    match s.kv().ttl("k").await.unwrap() {
        KeyTtl::Expires(d) => assert!(d <= LONG && d > LONG - Duration::from_secs(5), "{d:?}"),
        other => panic!("expected a TTL, got {other:?}"),
    }
    assert!(s.kv().persist("k").await.unwrap());
    assert!(!s.kv().persist("k").await.unwrap());
    assert_eq!(s.kv().ttl("k").await.unwrap(), KeyTtl::Persistent);
    assert!(s.kv().touch("k", SHORT).await.unwrap());
    past(SHORT).await;
    assert!(!s.kv().exists("k").await.unwrap());
}

pub async fn kv_set_clears_ttl(h: H) {
    let s = org(h, "o1").await;
    s.kv().set("k", &1).ttl(LONG).await.unwrap();
    assert!(matches!(s.kv().ttl("k").await.unwrap(), KeyTtl::Expires(_)));
    s.kv().set("k", &2).await.unwrap();
    assert_eq!(s.kv().ttl("k").await.unwrap(), KeyTtl::Persistent);
}

pub async fn kv_raw_string_value(h: H) {
    // A value written by another client that is not JSON reads as a string,
    // as in the TypeScript package.
    let s = org(h, "o1").await;
    let full = s.kv().key("raw").unwrap();
    s.adapter()
        .set(&full, "plain text".into(), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        s.kv().get::<String>("raw").await.unwrap().as_deref(),
        Some("plain text")
    );
}

pub async fn kv_decode_error(h: H) {
    let s = org(h, "o1").await;
    s.kv().set("k", &"text").await.unwrap();
    assert_eq!(
        code(s.kv().get::<u32>("k").await),
        ErrorCode::DeserializationFailed
    );
    // the value is still there
    assert_eq!(
        s.kv().get::<String>("k").await.unwrap().as_deref(),
        Some("text")
    );
}

pub async fn expiry_everywhere(h: H) {
    let s = org(h, "o1").await;
    s.kv().set("k", &1).ttl(SHORT).await.unwrap();
    s.batch()
        .set([BatchEntry::new("b", &2).ttl(SHORT)])
        .await
        .unwrap();
    s.counter()
        .increment("c")
        .ttl_on_create(SHORT)
        .await
        .unwrap();
    assert!(s.claim().once("cl", &"me", SHORT).await.unwrap());
    assert!(s.kv().exists("k").await.unwrap());
    past(SHORT).await;
    assert_eq!(s.kv().get::<i32>("k").await.unwrap(), None);
    assert!(!s.kv().exists("k").await.unwrap());
    assert_eq!(s.kv().ttl("k").await.unwrap(), KeyTtl::Missing);
    assert!(!s.kv().expire("k", LONG).await.unwrap());
    assert_eq!(
        s.batch().get::<i32, _>(&["k", "b"]).await.unwrap(),
        vec![None, None]
    );
    let keys: Vec<String> = s.dev().scan_all("*").try_collect().await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    assert_eq!(s.counter().get("c").await.unwrap(), 0);
    assert_eq!(s.counter().increment("c").await.unwrap(), 1);
    assert!(s.claim().once("cl", &"you", LONG).await.unwrap());
}

pub async fn counter_arithmetic(h: H) {
    let s = org(h, "o1").await;
    let c = s.counter();
    assert_eq!(c.get("n").await.unwrap(), 0);
    assert_eq!(c.increment("n").await.unwrap(), 1);
    assert_eq!(c.increment_by("n", 41).await.unwrap(), 42);
    assert_eq!(c.decrement("n").await.unwrap(), 41);
    assert_eq!(c.decrement_by("n", 50).await.unwrap(), -9);
    assert_eq!(c.increment_by("n", -1).await.unwrap(), -10);
    assert_eq!(c.get("n").await.unwrap(), -10);
    assert!(c.expire("n", LONG).await.unwrap());
    assert!(!c.expire("missing", LONG).await.unwrap());
    assert!(c.remove("n").await.unwrap());
    assert_eq!(c.get("n").await.unwrap(), 0);
    // stored as Redis keeps integers
    c.increment_by("m", 7).await.unwrap();
    let raw = s
        .adapter()
        .get(&c.key("m").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&raw[..], b"7");
}

pub async fn counter_not_integer(h: H) {
    let s = org(h, "o1").await;
    let full = s.counter().key("n").unwrap();
    for bad in ["abc", "1.5", " 1", "01", "+1", ""] {
        s.adapter()
            .set(&full, bad.into(), SetOptions::default())
            .await
            .unwrap();
        assert_eq!(
            code(s.counter().increment("n").await),
            ErrorCode::ValueNotInteger,
            "{bad:?}"
        );
        assert_eq!(
            code(s.counter().get("n").await),
            ErrorCode::ValueNotInteger,
            "{bad:?}"
        );
        // unchanged
        assert_eq!(
            &s.adapter().get(&full).await.unwrap().unwrap()[..],
            bad.as_bytes()
        );
    }
}

pub async fn counter_overflow(h: H) {
    let s = org(h, "o1").await;
    let c = s.counter();
    c.increment_by("n", i64::MAX).await.unwrap();
    assert_eq!(code(c.increment("n").await), ErrorCode::CounterOverflow);
    assert_eq!(c.get("n").await.unwrap(), i64::MAX);
    assert_eq!(
        code(c.decrement_by("m", i64::MIN).await),
        ErrorCode::CounterOverflow
    );
    c.decrement_by("m", i64::MAX).await.unwrap();
    c.decrement("m").await.unwrap();
    assert_eq!(code(c.decrement("m").await), ErrorCode::CounterOverflow);
}

pub async fn counter_rate_limiter(h: H) {
    let s = org(h, "o1").await;
    let c = s.counter();
    let window = Duration::from_millis(300);
    assert_eq!(c.increment("rl").ttl_on_create(window).await.unwrap(), 1);
    let full = c.key("rl").unwrap();
    let KeyTtl::Expires(first) = s.adapter().pttl(&full).await.unwrap() else {
        panic!("the creating increment sets the TTL")
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.increment("rl").ttl_on_create(window).await.unwrap(), 2);
    let KeyTtl::Expires(second) = s.adapter().pttl(&full).await.unwrap() else {
        panic!("the TTL stays")
    };
    assert!(
        second < first,
        "a later increment must not extend the window: {first:?} {second:?}"
    );
    past(window).await;
    assert_eq!(c.increment("rl").ttl_on_create(window).await.unwrap(), 1);
    // an existing counter without TTL keeps having none
    c.increment("plain").await.unwrap();
    c.increment("plain").ttl_on_create(window).await.unwrap();
    assert_eq!(
        s.adapter().pttl(&c.key("plain").unwrap()).await.unwrap(),
        KeyTtl::Persistent
    );
}

pub async fn claim_once_contention(h: H) {
    let s = org(h, "o1").await;
    let wins = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            let wins = Arc::clone(&wins);
            tokio::spawn(async move {
                if s.claim()
                    .once("job", &format!("worker-{i}"), LONG)
                    .await
                    .unwrap()
                {
                    wins.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(wins.load(Ordering::SeqCst), 1);
}

pub async fn claim_acquire_contention(h: H) {
    let s = org(h, "o1").await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.claim().acquire("job", LONG).await.unwrap() })
        })
        .collect();
    let mut held = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            held.push(c);
        }
    }
    assert_eq!(held.len(), 1);
}

pub async fn claim_release_by_non_owner(h: H) {
    let s = org(h, "o1").await;
    assert!(s.claim().once("k", &"alice", LONG).await.unwrap());
    assert!(!s.claim().release("k", &"bob").await.unwrap());
    assert!(!s.claim().once("k", &"bob", LONG).await.unwrap());
    assert!(s.claim().release("k", &"alice").await.unwrap());
    assert!(s.claim().once("k", &"bob", LONG).await.unwrap());

    let old = s.claim().acquire("lock", SHORT).await.unwrap().unwrap();
    past(SHORT).await;
    let new = s.claim().acquire("lock", LONG).await.unwrap().unwrap();
    assert!(
        !old.release().await.unwrap(),
        "a stale holder must not release"
    );
    assert!(
        !old.extend(LONG).await.unwrap(),
        "a stale holder must not extend"
    );
    assert!(
        s.claim().acquire("lock", LONG).await.unwrap().is_none(),
        "still held by the new owner"
    );
    assert!(new.release().await.unwrap());
    assert!(!new.release().await.unwrap(), "released twice");
}

pub async fn claim_fencing_increases(h: H) {
    let s = org(h, "o1").await;
    let mut last = 0;
    for round in 0..5 {
        let c = s
            .claim()
            .acquire("res", if round % 2 == 0 { LONG } else { SHORT })
            .await
            .unwrap()
            .unwrap();
        assert!(
            c.token() > last,
            "round {round}: {} after {last}",
            c.token()
        );
        last = c.token();
        if round % 2 == 0 {
            assert!(c.release().await.unwrap());
        } else {
            past(SHORT).await; // expires instead of being released
        }
    }
    // another scope's claim of the same key is its own: held at once, with a
    // valid token (tokens are clock-based, so no particular number), and it
    // does not disturb the first scope's sequence
    let other = org(h, "o2")
        .await
        .claim()
        .acquire("res", LONG)
        .await
        .unwrap()
        .unwrap();
    assert!(other.token() > 0);
    let again = s.claim().acquire("res", LONG).await.unwrap().unwrap();
    assert!(again.token() > last, "{} after {last}", again.token());
}

/// Tokens of a key never go back: not after a release, an expiry, nor a
/// purge of the tenant, which deletes the fencing counter with everything
/// else (issue 13, item 7: it started again at 1).
pub async fn claim_fencing_survives_purge(h: H) {
    let s = org(h, "o1").await;
    let mut seen = Vec::new();
    let mut check = |token: u64, what: &str| {
        assert!(
            seen.iter().all(|&t| token > t),
            "{what}: token {token} is not above every earlier one {seen:?}"
        );
        seen.push(token);
    };
    let first = s.claim().acquire("job", LONG).await.unwrap().unwrap();
    check(first.token(), "first acquire");
    assert!(first.release().await.unwrap());
    let released = s.claim().acquire("job", SHORT).await.unwrap().unwrap();
    check(released.token(), "after a release");
    past(SHORT).await;
    let expired = s.claim().acquire("job", LONG).await.unwrap().unwrap();
    check(expired.token(), "after an expiry");
    assert!(s.purge().await.unwrap() >= 2, "the claim and its fence");
    assert!(
        !expired.release().await.unwrap(),
        "the purge removed the claim"
    );
    let purged = s.claim().acquire("job", LONG).await.unwrap().unwrap();
    check(purged.token(), "after a purge");
    // twice in a row, with nothing in between but the purge
    assert!(s.purge().await.unwrap() >= 2);
    let again = s.claim().acquire("job", LONG).await.unwrap().unwrap();
    check(again.token(), "after a second purge");
    // tokens stay exact for JavaScript readers
    assert!(again.token() < 1 << 53);
}

/// The fencing counter's edges, written through the adapter: a small
/// counter (as the store wrote before tokens had the clock as a floor) is
/// raised to the clock, and one that would reach 2^53 (past what JavaScript
/// reads exactly) is refused without taking the claim.
pub async fn claim_fencing_counter_edges(h: H) {
    let s = org(h, "o1").await;
    let claim = s.claim().key("job").unwrap();
    let fence = s
        .full_key(Namespace::Fence, &format!("{{{claim}}}"))
        .unwrap();
    s.adapter()
        .set(&fence, "5".into(), SetOptions::default())
        .await
        .unwrap();
    let c = s.claim().acquire("job", LONG).await.unwrap().unwrap();
    // the clock in µs since the epoch: past 2020-01-01, below 2^53
    assert!(
        (1_577_836_800_000_000..1 << 53).contains(&c.token()),
        "{}",
        c.token()
    );
    assert_eq!(
        &s.adapter().get(&fence).await.unwrap().unwrap()[..],
        c.token().to_string().as_bytes(),
        "the counter holds the token, as a plain integer"
    );
    assert!(c.release().await.unwrap());
    s.adapter()
        .set(
            &fence,
            ((1u64 << 53) - 1).to_string().into(),
            SetOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        code(s.claim().acquire("job", LONG).await),
        ErrorCode::CounterOverflow
    );
    assert!(
        !s.adapter().exists(&claim).await.unwrap(),
        "a refused acquire does not take the claim"
    );
}

pub async fn claim_extend(h: H) {
    let s = org(h, "o1").await;
    let c = s.claim().acquire("k", SHORT).await.unwrap().unwrap();
    assert!(c.extend(LONG).await.unwrap());
    past(SHORT).await;
    assert!(
        s.claim().acquire("k", LONG).await.unwrap().is_none(),
        "extended past the first TTL"
    );
    assert_eq!(code(c.extend(Duration::ZERO).await), ErrorCode::TtlInvalid);
}

pub async fn claim_expiry_frees(h: H) {
    let s = org(h, "o1").await;
    assert!(s.claim().once("k", &"a", SHORT).await.unwrap());
    past(SHORT).await;
    assert!(s.claim().once("k", &"b", LONG).await.unwrap());
}

pub async fn batch_mixed_ttls(h: H) {
    let s = org(h, "o1").await;
    s.batch()
        .set([
            BatchEntry::new("a", &1),
            BatchEntry::new("b", &2).ttl(SHORT),
            BatchEntry::new("c", &3).ttl(LONG),
        ])
        .await
        .unwrap();
    assert_eq!(
        s.batch()
            .get::<i32, _>(&["a", "b", "c", "d"])
            .await
            .unwrap(),
        vec![Some(1), Some(2), Some(3), None]
    );
    assert_eq!(s.kv().ttl("a").await.unwrap(), KeyTtl::Persistent);
    assert!(matches!(s.kv().ttl("c").await.unwrap(), KeyTtl::Expires(_)));
    past(SHORT).await;
    assert_eq!(
        s.batch().get::<i32, _>(&["a", "b", "c"]).await.unwrap(),
        vec![Some(1), None, Some(3)]
    );
    // batch entries are kv entries
    assert_eq!(s.kv().get::<i32>("c").await.unwrap(), Some(3));
    // a batch without TTLs (one MSET on Redis) clears a TTL as SET does
    s.kv().set("p", &0).ttl(LONG).await.unwrap();
    s.batch()
        .set([BatchEntry::new("p", &1), BatchEntry::new("q", &2)])
        .await
        .unwrap();
    assert_eq!(s.kv().ttl("p").await.unwrap(), KeyTtl::Persistent);
    assert_eq!(
        s.batch().get::<i32, _>(&["p", "q"]).await.unwrap(),
        vec![Some(1), Some(2)]
    );
}

pub async fn batch_empty(h: H) {
    let spy = Arc::new(CountingAdapter::new(h.adapter().await));
    let s = Store::builder()
        .shared_adapter(Backend::Custom(spy.clone()))
        .service(super::unique_service())
        .build()
        .unwrap();
    let empty: [&str; 0] = [];
    assert!(s.batch().get::<i32, _>(&empty).await.unwrap().is_empty());
    s.batch()
        .set(Vec::<BatchEntry<'_, i32>>::new())
        .await
        .unwrap();
    assert_eq!(spy.calls(), 0, "an empty batch does no I/O");
    s.batch().get::<i32, _>(&["x"]).await.unwrap();
    assert_eq!(spy.calls(), 1);
}

pub async fn batch_invalid_entry_writes_nothing(h: H) {
    let s = org(h, "o1").await;
    let err = s
        .batch()
        .set([
            BatchEntry::new("a", &1),
            BatchEntry::new("b", &2).ttl(Duration::ZERO),
            BatchEntry::new("c", &3),
        ])
        .await;
    assert_eq!(code(err), ErrorCode::TtlInvalid);
    let err = s
        .batch()
        .set([BatchEntry::new("a", &1), BatchEntry::new("", &2)])
        .await;
    assert_eq!(code(err), ErrorCode::KeyRequired);
    assert_eq!(
        s.batch().get::<i32, _>(&["a", "b", "c"]).await.unwrap(),
        vec![None, None, None]
    );
}

pub async fn scan_pages_each_key_once(h: H) {
    let s = org(h, "o1").await;
    let mut written = HashSet::new();
    for i in 0..57 {
        let key = format!("item:{i}");
        s.kv().set(&key, &i).await.unwrap();
        written.insert(key);
    }
    s.kv().set("other", &0).await.unwrap();
    s.counter().increment("item:counter").await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = ScanCursor::start();
    let mut pages = 0;
    loop {
        let page = s
            .dev()
            .scan("item:*")
            .count(10)
            .cursor(cursor)
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = next,
            None => break,
        }
        assert!(pages < 1000, "the scan must end");
    }
    assert!(pages > 1, "57 keys with COUNT 10 take more than one page");
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique, written);
    // Redis may return a key twice in rare rehashing cases; the store's own
    // memory adapter never does, and with nothing changing Redis does not either.
    assert_eq!(seen.len(), written.len(), "each key once");
}

pub async fn scan_is_relative_and_escaped(h: H) {
    let root = store(h).await;
    let a = root.scope(Tenant::Organization, "a*").unwrap();
    let ab = root.scope(Tenant::Organization, "ab").unwrap();
    let q = root.scope(Tenant::Organization, "a?").unwrap();
    a.kv().set("x", &1).await.unwrap();
    ab.kv().set("y", &1).await.unwrap();
    q.kv().set("z", &1).await.unwrap();
    let keys: Vec<String> = a.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(keys, vec!["x".to_owned()]);
    let keys: Vec<String> = q.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(keys, vec!["z".to_owned()]);
    // the user's own pattern is a pattern
    for k in ["log:1", "log:2", "log:10", "log:[x]"] {
        ab.kv().set(k, &0).await.unwrap();
    }
    let mut keys: Vec<String> = ab.dev().scan_all("log:?").try_collect().await.unwrap();
    keys.sort();
    assert_eq!(keys, vec!["log:1", "log:2"]);
    let keys: Vec<String> = ab.dev().scan_all(r"log:\[x\]").try_collect().await.unwrap();
    assert_eq!(keys, vec!["log:[x]"]);
    assert_eq!(
        code(ab.dev().scan("").await),
        ErrorCode::ScanPatternRequired
    );
}

pub async fn scan_all_stream(h: H) {
    let s = org(h, "o1").await;
    for i in 0..250 {
        s.kv().set(&format!("k{i}"), &i).await.unwrap();
    }
    let keys: Vec<String> = s.dev().scan_all("k*").try_collect().await.unwrap();
    assert_eq!(keys.len(), 250);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 250);
}

pub async fn purge_leaves_sibling(h: H) {
    let root = store(h).await;
    let gone = root.scope(Tenant::Organization, "org_1").unwrap();
    let gone_ws = gone.scope(Tenant::Workspace, 7).unwrap();
    let kept = root.scope(Tenant::Organization, "org_10").unwrap();
    let kept_ws = kept.scope(Tenant::Workspace, 7).unwrap();
    for s in [&gone, &gone_ws, &kept, &kept_ws] {
        s.kv().set("k", &1).await.unwrap();
        s.counter().increment("c").await.unwrap();
        s.claim().acquire("l", LONG).await.unwrap().unwrap();
        s.batch()
            .set([BatchEntry::new("b", &2).ttl(LONG)])
            .await
            .unwrap();
    }
    // kv + batch + counter + claim + fence, in two scopes
    assert_eq!(gone.purge().await.unwrap(), 10);
    for s in [&gone, &gone_ws] {
        assert!(!s.kv().exists("k").await.unwrap());
        assert!(!s.kv().exists("b").await.unwrap());
        assert_eq!(s.counter().get("c").await.unwrap(), 0);
        assert!(s.claim().acquire("l", LONG).await.unwrap().is_some());
    }
    for s in [&kept, &kept_ws] {
        assert!(s.kv().exists("k").await.unwrap());
        assert!(s.kv().exists("b").await.unwrap());
        assert_eq!(s.counter().get("c").await.unwrap(), 1);
        assert!(s.claim().acquire("l", LONG).await.unwrap().is_none());
    }
    assert_eq!(
        gone.purge().await.unwrap(),
        4,
        "the two re-acquired claims and their fences"
    );
}

pub async fn scope_required_before_io(h: H) {
    let spy = Arc::new(CountingAdapter::new(h.adapter().await));
    let root: Store<Tenant> = Store::builder()
        .shared_adapter(Backend::Custom(spy.clone()))
        .service(super::unique_service())
        .scopes::<Tenant>()
        .build()
        .unwrap();
    // The typed root has no data operations (a compile error, see
    // ui-tests); its dynamic twin checks at run time.
    let s = root.clone().into_dynamic();
    assert_eq!(code(s.kv().get::<i32>("k").await), ErrorCode::ScopeRequired);
    assert_eq!(code(s.kv().set("k", &1).await), ErrorCode::ScopeRequired);
    assert_eq!(
        code(s.counter().increment("k").await),
        ErrorCode::ScopeRequired
    );
    assert_eq!(
        code(s.claim().acquire("k", LONG).await),
        ErrorCode::ScopeRequired
    );
    assert_eq!(
        code(s.batch().get::<i32, _>(&["k"]).await),
        ErrorCode::ScopeRequired
    );
    assert_eq!(code(s.dev().scan("*").await), ErrorCode::ScopeRequired);
    assert_eq!(code(s.purge().await), ErrorCode::ScopeRequired);
    let err = s.kv().get::<i32>("k").await.unwrap_err();
    assert_eq!(
        err.details().unwrap()["missingScopes"],
        serde_json::json!(["organization"])
    );
    assert!(err.to_string().contains("`organization`"), "{err}");

    // A chain that skips the required organization is refused when built.
    let err = root.scope(Tenant::Workspace, 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScopeRequired);
    assert_eq!(
        err.details().unwrap()["missingScopes"],
        serde_json::json!(["organization"])
    );
    assert!(err.to_string().contains("`organization`"), "{err}");

    // Out of declaration order, and repeated: refused when built.
    let org = root.scope(Tenant::Organization, "o").unwrap();
    let team = org.scope(Tenant::Team, 1).unwrap();
    let err = team.scope(Tenant::Workspace, 2).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScopeOrder);
    assert_eq!(err.details().unwrap()["scopeKey"], "ws");
    assert_eq!(err.details().unwrap()["after"], "team");
    assert_eq!(err.details().unwrap()["reason"], "out of order");
    let err = org.scope(Tenant::Organization, "o2").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScopeOrder);
    assert_eq!(err.details().unwrap()["reason"], "repeated");
    assert_eq!(spy.calls(), 0, "nothing reaches the adapter");

    // Optional scopes may be skipped; the chain is complete.
    team.kv().set("k", &1).await.unwrap();
    assert_eq!(spy.calls(), 1);
}

pub async fn scope_errors(h: H) {
    let root = store(h).await;
    assert_eq!(
        code(root.scope(Tenant::Organization, "")),
        ErrorCode::ScopeIdentifierRequired
    );
    let parent = root.scope(Tenant::Organization, "p").unwrap();
    let child = parent.scope(Tenant::Team, 42).unwrap();
    assert_eq!(parent.scope_keys(), vec!["organization"]);
    assert_eq!(child.scope_keys(), vec!["organization", "team"]);
    // integers are identifiers too
    assert!(
        child
            .kv()
            .key("x")
            .unwrap()
            .ends_with(":organization:p:team:42:kv:x")
    );
}

pub async fn ttl_errors(h: H) {
    let s = org(h, "o1").await;
    assert_eq!(
        code(s.kv().set("k", &1).ttl(Duration::ZERO).await),
        ErrorCode::TtlInvalid
    );
    assert!(!s.kv().exists("k").await.unwrap());
    assert_eq!(
        code(s.kv().expire("k", Duration::ZERO).await),
        ErrorCode::TtlInvalid
    );
    assert_eq!(
        code(
            s.counter()
                .increment("c")
                .ttl_on_create(Duration::ZERO)
                .await
        ),
        ErrorCode::TtlInvalid
    );
    assert_eq!(
        s.counter().get("c").await.unwrap(),
        0,
        "nothing incremented"
    );
    assert_eq!(
        code(s.claim().once("c", &"me", Duration::ZERO).await),
        ErrorCode::TtlInvalid
    );
    assert_eq!(
        code(s.claim().acquire("c", Duration::MAX).await),
        ErrorCode::TtlInvalid
    );
    // sub-millisecond TTLs round up to one millisecond rather than to "forever"
    s.kv()
        .set("tiny", &1)
        .ttl(Duration::from_micros(10))
        .await
        .unwrap();
    past(Duration::from_millis(1)).await;
    assert!(!s.kv().exists("tiny").await.unwrap());
}

pub async fn key_errors(h: H) {
    let s = org(h, "o1").await;
    assert_eq!(code(s.kv().get::<i32>("").await), ErrorCode::KeyRequired);
    assert_eq!(code(s.kv().set("", &1).await), ErrorCode::KeyRequired);
    assert_eq!(
        code(s.counter().increment("").await),
        ErrorCode::KeyRequired
    );
    assert_eq!(
        code(s.claim().once("", &1, LONG).await),
        ErrorCode::KeyRequired
    );
    assert_eq!(
        code(s.batch().get::<i32, _>(&["a", ""]).await),
        ErrorCode::KeyRequired
    );
    assert_eq!(code(s.kv().key("")), ErrorCode::KeyRequired);
}

pub async fn keys_match_typescript_layout(h: H) {
    let root = Store::builder()
        .shared_adapter(h.adapter().await)
        .service("my-api")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let ws = root
        .scope(Tenant::Organization, "org_123")
        .unwrap()
        .scope(Tenant::Workspace, 7)
        .unwrap();
    assert_eq!(
        ws.kv().key("config").unwrap(),
        "igniter:store:my-api:organization:org_123:ws:7:kv:config"
    );
    assert_eq!(
        ws.counter().key("hits").unwrap(),
        "igniter:store:my-api:organization:org_123:ws:7:counter:hits"
    );
    assert_eq!(
        ws.claim().key("job").unwrap(),
        "igniter:store:my-api:organization:org_123:ws:7:claim:job"
    );
    assert_eq!(
        ws.full_key(Namespace::Streams, "s").unwrap(),
        "igniter:store:my-api:organization:org_123:ws:7:streams:s"
    );
    let odd = root.scope(Tenant::Organization, "a:kv:{x}%").unwrap();
    assert_eq!(
        odd.kv().key("k").unwrap(),
        "igniter:store:my-api:organization:a%3Akv%3A%7Bx%7D%25:kv:k"
    );
    // what the store writes is JSON at the documented key
    ws.kv()
        .set(
            "config",
            &Config {
                theme: "t".into(),
                limit: 1,
            },
        )
        .await
        .unwrap();
    let raw = ws
        .adapter()
        .get("igniter:store:my-api:organization:org_123:ws:7:kv:config")
        .await
        .unwrap();
    assert_eq!(raw.as_deref(), Some(&br#"{"theme":"t","limit":1}"#[..]));
    ws.purge().await.unwrap();
}

pub async fn namespaces_are_separate(h: H) {
    let s = org(h, "o1").await;
    s.kv().set("n", &"kv").await.unwrap();
    s.counter().increment("n").await.unwrap();
    assert!(s.claim().once("n", &"claim", LONG).await.unwrap());
    assert_eq!(
        s.kv().get::<String>("n").await.unwrap().as_deref(),
        Some("kv")
    );
    assert_eq!(s.counter().get("n").await.unwrap(), 1);
}

/// An adapter that counts the calls it forwards, to prove that an
/// operation does no I/O.
pub struct CountingAdapter {
    inner: Backend,
    calls: AtomicUsize,
}

impl CountingAdapter {
    pub fn new(inner: Backend) -> Self {
        CountingAdapter {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn count(&self) -> &dyn igniter_store::adapter::DynStoreAdapter {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.adapter()
    }
}

impl StoreAdapter for CountingAdapter {
    fn name(&self) -> &'static str {
        "counting"
    }
    async fn get(&self, key: &str) -> StoreResult<Option<bytes::Bytes>> {
        self.count().get(key).await
    }
    async fn set(&self, key: &str, value: bytes::Bytes, options: SetOptions) -> StoreResult<bool> {
        self.count().set(key, value, options).await
    }
    async fn del(&self, keys: &[bytes::Bytes]) -> StoreResult<u64> {
        self.count().del(keys).await
    }
    async fn exists(&self, key: &str) -> StoreResult<bool> {
        self.count().exists(key).await
    }
    async fn pexpire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        self.count().pexpire(key, ttl).await
    }
    async fn pttl(&self, key: &str) -> StoreResult<KeyTtl> {
        self.count().pttl(key).await
    }
    async fn persist(&self, key: &str) -> StoreResult<bool> {
        self.count().persist(key).await
    }
    async fn incr_by(&self, key: &str, delta: i64, ttl: Option<Duration>) -> StoreResult<i64> {
        self.count().incr_by(key, delta, ttl).await
    }
    async fn mget(&self, keys: &[String]) -> StoreResult<Vec<Option<bytes::Bytes>>> {
        self.count().mget(keys).await
    }
    async fn mset(&self, entries: Vec<MsetEntry>) -> StoreResult<()> {
        self.count().mset(entries).await
    }
    async fn claim_acquire(
        &self,
        key: &str,
        fence: &str,
        nonce: &str,
        ttl: Duration,
    ) -> StoreResult<Option<u64>> {
        self.count().claim_acquire(key, fence, nonce, ttl).await
    }
    async fn compare_and_delete(&self, key: &str, expected: &[u8]) -> StoreResult<bool> {
        self.count().compare_and_delete(key, expected).await
    }
    async fn compare_and_expire(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.count().compare_and_expire(key, expected, ttl).await
    }
    async fn scan(
        &self,
        cursor: &ScanCursor,
        pattern: &str,
        count: usize,
    ) -> StoreResult<ScanReply> {
        self.count().scan(cursor, pattern, count).await
    }
    async fn publish(&self, channel: &str, payload: bytes::Bytes) -> StoreResult<u64> {
        self.count().publish(channel, payload).await
    }
    async fn subscribe(&self, kind: TopicKind, topic: &str) -> StoreResult<RawSubscription> {
        self.count().subscribe(kind, topic).await
    }
    fn active_subscriptions(&self) -> (usize, usize) {
        self.inner.adapter().active_subscriptions()
    }
    async fn unlink(&self, keys: &[bytes::Bytes]) -> StoreResult<u64> {
        self.count().unlink(keys).await
    }
    async fn xadd(
        &self,
        key: &str,
        payload: bytes::Bytes,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        self.count().xadd(key, payload, max_len).await
    }
    async fn xrange(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>> {
        self.count().xrange(key, query).await
    }
    async fn xlen(&self, key: &str) -> StoreResult<u64> {
        self.count().xlen(key).await
    }
    async fn xtrim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64> {
        self.count().xtrim(key, max_len).await
    }
    async fn xgroup_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool> {
        self.count().xgroup_create(key, group, start_id).await
    }
    async fn xgroup_delconsumer(&self, key: &str, group: &str, consumer: &str) -> StoreResult<u64> {
        self.count().xgroup_delconsumer(key, group, consumer).await
    }
    async fn xreadgroup(&self, key: &str, read: &GroupRead) -> StoreResult<Vec<RawEntry>> {
        self.count().xreadgroup(key, read).await
    }
    async fn xack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64> {
        self.count().xack(key, group, ids).await
    }
    async fn xpending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary> {
        self.count().xpending_summary(key, group).await
    }
    async fn xpending(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>> {
        self.count().xpending(key, group, query, consumer).await
    }
    async fn xautoclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim> {
        self.count().xautoclaim(key, read, min_idle, start).await
    }
    async fn xclaim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>> {
        self.count().xclaim(key, read, min_idle, ids).await
    }
    async fn xinfo_groups(&self, key: &str) -> StoreResult<Vec<GroupInfo>> {
        self.count().xinfo_groups(key).await
    }
    async fn xinfo_consumers(&self, key: &str, group: &str) -> StoreResult<Vec<ConsumerInfo>> {
        self.count().xinfo_consumers(key, group).await
    }
    async fn xdel(&self, key: &str, ids: &[String]) -> StoreResult<u64> {
        self.count().xdel(key, ids).await
    }
    async fn xmove(&self, from: &str, id: &str, to: &str) -> StoreResult<Option<String>> {
        self.count().xmove(from, id, to).await
    }
    async fn close(&self) -> StoreResult<()> {
        self.count().close().await
    }
}
