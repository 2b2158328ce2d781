//! Bad inputs, each a test with the code it gets — on the memory adapter and
//! on Redis (this binary's server), which must agree.
//!
//! | input | outcome |
//! |---|---|
//! | empty key, stream name, group, consumer, pattern, identifier | `STORE_KEY_REQUIRED`, `STORE_STREAM_NAME_REQUIRED`, `STORE_STREAM_GROUP_REQUIRED`, `STORE_STREAM_CONSUMER_REQUIRED`, `STORE_SCAN_PATTERN_REQUIRED`, `STORE_SCOPE_IDENTIFIER_REQUIRED`, `STORE_ACTOR_IDENTIFIER_REQUIRED`; nothing reaches the backend |
//! | a key or identifier with control characters | accepted: keys are binary-safe, stored and read back exactly, isolated |
//! | a 1 MB key or identifier | accepted on both adapters (Redis allows 512 MB) |
//! | NaN, ±infinity | `STORE_SERIALIZATION_FAILED` (JSON has no NaN; `null` would not read back); nothing written |
//! | a map with non-string keys, a value whose `Serialize` fails | `STORE_SERIALIZATION_FAILED`; nothing written (a batch: no entry) |
//! | a value over the configured size limit (`max_value_size`) | `STORE_VALUE_TOO_LARGE` before any I/O |
//! | counter overflow past `i64` | `STORE_COUNTER_OVERFLOW`, the counter unchanged |
//! | TTL zero, over 100 years, `Duration::MAX` | `STORE_TTL_INVALID` for every operation that takes a TTL; 1 ns is 1 ms |
//! | a blocking read of `Duration::MAX` | blocks for at most a year (no overflow of the clock) |
//! | a reclaim with a `min_idle` over `i64::MAX` ms | claims nothing, on both adapters (sent capped at `i64::MAX` ms) |
//! | a counter key holding a non-integer | `STORE_VALUE_NOT_INTEGER`, the value unchanged |
//! | a stream entry that does not decode | an entry with its id and raw bytes, `message` = `STORE_DESERIALIZATION_FAILED`; it can be acked; the next entry decodes |
//! | a stream id that does not parse | `STORE_STREAM_ID_INVALID` |
//! | an envelope of a newer version, unknown fields | accepted |
//! | a message on a pattern subscription on a channel its namespace does not declare | one `Err` `STORE_SCHEMA_CHANNEL_NOT_FOUND`, and the subscription goes on |

mod support;

use igniter_store::adapter::Backend;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use igniter_store::adapter::{KeyTtl, SetOptions};
use igniter_store::{
    ErrorCode, MemoryAdapter, RedisAdapter, Store, StoreActors, StoreResult, StoreScopes,
    batch::BatchEntry, events::Subscription,
};
use serde::{Deserialize, Serialize, Serializer};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    Workspace,
}

#[derive(StoreActors, Clone, Copy, Debug)]
enum Actor {
    User,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub cents: u64,
}

#[derive(igniter_store::StoreEvents, Debug)]
#[store(namespace = "billing")]
pub enum Billing {
    Charged(Charge),
    #[store(group = "refunds", rename = "issued")]
    Refund(Charge),
}

/// The root of a store: it lacks the required organization, so it has no
/// data operations.
type Root = Store<Tenant, Actor>;
/// An organization's handle (the typed path).
type S = Store<tenant::Organization, Actor>;

fn service() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "bad{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn build(adapter: Backend) -> Root {
    Store::builder()
        .shared_adapter(adapter)
        .service(service())
        .scopes::<Tenant>()
        .actors::<Actor>()
        .build()
        .unwrap()
}

/// The organization handle of a fresh store on each adapter: memory, and
/// Redis unless the Redis tests are skipped.
async fn orgs() -> Vec<(&'static str, S)> {
    let mut out = vec![("memory", build(Backend::new(MemoryAdapter::new())))];
    if !support::skip_redis() {
        let redis = RedisAdapter::connect(&support::shared().url())
            .await
            .unwrap();
        out.push(("redis", build(Backend::new(redis))));
    }
    out.into_iter()
        .map(|(name, s)| (name, s.scope(tenant::Organization, "o").unwrap()))
        .collect()
}

#[track_caller]
fn code<T: fmt::Debug>(r: StoreResult<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Every key of the store's service, from the adapter.
async fn keys_of(s: &S) -> Vec<String> {
    let pattern = format!(
        "igniter:store:{}:*",
        igniter_store::key::escape_glob(s.service())
    );
    let mut cursor = igniter_store::adapter::ScanCursor::start();
    let mut keys = Vec::new();
    loop {
        let page = s.adapter().scan(&cursor, &pattern, 1000).await.unwrap();
        keys.extend(
            page.keys
                .iter()
                .map(|k| String::from_utf8(k.to_vec()).expect("the store writes UTF-8 keys")),
        );
        if page.cursor.is_done() {
            return keys;
        }
        cursor = page.cursor;
    }
}

const LONG: Duration = Duration::from_secs(60);

// ----------------------------------------------------------------- empties

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_names_are_refused_before_any_io() {
    for (adapter, s) in orgs().await {
        let kr = ErrorCode::KeyRequired;
        assert_eq!(code(s.kv().get::<u8>("").await), kr, "{adapter}");
        assert_eq!(code(s.kv().set("", &1).await), kr);
        assert_eq!(code(s.kv().set("", &1).ttl(LONG).await), kr);
        assert_eq!(code(s.kv().exists("").await), kr);
        assert_eq!(code(s.kv().remove("").await), kr);
        assert_eq!(code(s.kv().expire("", LONG).await), kr);
        assert_eq!(code(s.kv().touch("", LONG).await), kr);
        assert_eq!(code(s.kv().ttl("").await), kr);
        assert_eq!(code(s.kv().persist("").await), kr);
        assert_eq!(code(s.kv().key("")), kr);
        assert_eq!(code(s.counter().increment("").await), kr);
        assert_eq!(code(s.counter().get("").await), kr);
        assert_eq!(code(s.counter().expire("", LONG).await), kr);
        assert_eq!(code(s.counter().remove("").await), kr);
        assert_eq!(code(s.claim().once("", &"me", LONG).await), kr);
        assert_eq!(code(s.claim().release("", &"me").await), kr);
        assert_eq!(code(s.claim().acquire("", LONG).await), kr);
        assert_eq!(
            code(
                s.batch()
                    .set([BatchEntry::new("a", &1), BatchEntry::new("", &2)])
                    .await
            ),
            kr
        );
        assert_eq!(code(s.batch().get::<u8, _>(&["a", ""]).await), kr);
        assert_eq!(code(s.dev().scan("").await), ErrorCode::ScanPatternRequired);
        let streams = s.streams();
        assert_eq!(
            code(streams.append("", &1).await),
            ErrorCode::StreamNameRequired
        );
        assert_eq!(
            code(streams.range::<u8>("").await),
            ErrorCode::StreamNameRequired
        );
        assert_eq!(
            code(streams.group("", "c").ensure("s").await),
            ErrorCode::StreamGroupRequired
        );
        assert_eq!(
            code(streams.group("g", "").read::<u8>("s").await),
            ErrorCode::StreamConsumerRequired
        );
        assert_eq!(
            code(s.scope(tenant::Workspace, "")),
            ErrorCode::ScopeIdentifierRequired
        );
        assert_eq!(
            code(s.scope(Tenant::Workspace, "")),
            ErrorCode::ScopeIdentifierRequired
        );
        // a chain out of declaration order is refused before any I/O too
        assert_eq!(
            code(s.scope(Tenant::Organization, "o2")),
            ErrorCode::ScopeOrder
        );
        assert_eq!(
            code(s.actor(Actor::User, "")),
            ErrorCode::ActorIdentifierRequired
        );
        assert!(keys_of(&s).await.is_empty(), "{adapter}: nothing written");
    }
}

// ------------------------------------------------ control characters, size

const CONTROL_KEYS: &[&str] = &[
    "\0",
    "a\0b",
    "a\nb",
    "\r\n",
    "\t",
    "\u{1b}[31mred",
    "\u{7f}",
    "\u{85}",
    "\u{202e}rtl",
    "a:b\0:kv:c",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_control_characters_are_stored_exactly() {
    for (adapter, s) in orgs().await {
        for (i, key) in CONTROL_KEYS.iter().enumerate() {
            s.kv().set(key, &i).await.unwrap();
            s.counter().increment_by(key, i as i64 + 1).await.unwrap();
            assert!(s.claim().once(key, &"me", LONG).await.unwrap());
        }
        for (i, key) in CONTROL_KEYS.iter().enumerate() {
            assert_eq!(
                s.kv().get::<usize>(key).await.unwrap(),
                Some(i),
                "{adapter} {key:?}"
            );
            assert_eq!(s.counter().get(key).await.unwrap(), i as i64 + 1);
            assert!(s.claim().release(key, &"me").await.unwrap());
            assert!(s.kv().key(key).unwrap().ends_with(&format!(":kv:{key}")));
        }
        // `a\0b` is not `a`: keys are compared as bytes, never cut at NUL
        assert_eq!(s.kv().get::<usize>("a").await.unwrap(), None);
        let mut scanned: Vec<String> = s.dev().scan_all("*").try_collect().await.unwrap();
        scanned.sort();
        let mut expected: Vec<String> = CONTROL_KEYS.iter().map(|k| (*k).to_owned()).collect();
        expected.sort();
        assert_eq!(scanned, expected, "{adapter}");
        let batch: Vec<Option<usize>> = s.batch().get(CONTROL_KEYS).await.unwrap();
        assert!(batch.iter().all(Option::is_some));
        // the kv entries and the counters (the claims were released)
        assert_eq!(s.purge().await.unwrap(), 2 * CONTROL_KEYS.len() as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_with_control_characters_are_isolated() {
    for (adapter, s) in orgs().await {
        let root = s.clone();
        let a = root.scope(tenant::Workspace, "a\0").unwrap();
        let b = root.scope(tenant::Workspace, "a").unwrap();
        let c = root.scope(tenant::Workspace, "a\n:kv:x").unwrap();
        a.kv().set("k", &1).await.unwrap();
        assert_eq!(b.kv().get::<u8>("k").await.unwrap(), None, "{adapter}");
        assert_eq!(c.kv().get::<u8>("k").await.unwrap(), None, "{adapter}");
        c.kv().set("k", &3).await.unwrap();
        assert_eq!(a.kv().get::<u8>("k").await.unwrap(), Some(1));
        assert_eq!(b.purge().await.unwrap(), 0);
        assert_eq!(a.kv().get::<u8>("k").await.unwrap(), Some(1));
        // the `:` of the identifier is escaped, the control characters kept
        assert!(
            c.kv()
                .key("k")
                .unwrap()
                .ends_with(":workspace:a\n%3Akv%3Ax:kv:k")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_key_and_identifier_work() {
    let big = "k".repeat(1 << 20);
    for (adapter, s) in orgs().await {
        s.kv().set(&big, &"v").await.unwrap();
        assert_eq!(
            s.kv().get::<String>(&big).await.unwrap().as_deref(),
            Some("v"),
            "{adapter}"
        );
        assert_eq!(s.counter().increment(&big).await.unwrap(), 1);
        let scanned: Vec<String> = s.dev().scan_all("k*").try_collect().await.unwrap();
        assert_eq!(scanned, vec![big.clone()]);
        let deep = s.scope(tenant::Workspace, &big).unwrap();
        deep.kv().set(&big, &1).await.unwrap();
        assert_eq!(deep.kv().get::<u8>(&big).await.unwrap(), Some(1));
        assert_eq!(s.purge().await.unwrap(), 3);
    }
}

// ------------------------------------------------ values that do not serialize

/// Rendered by serde_json as `null`.
#[derive(Debug, Serialize)]
struct Reading {
    celsius: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nan_and_infinities_are_refused() {
    for (adapter, s) in orgs().await {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let sf = ErrorCode::SerializationFailed;
            assert_eq!(code(s.kv().set("t", &bad).await), sf, "{adapter} {bad}");
            assert_eq!(code(s.kv().set("t", &(bad as f32)).await), sf);
            assert_eq!(code(s.kv().set("t", &Reading { celsius: bad }).await), sf);
            assert_eq!(code(s.kv().set("t", &vec![1.0, bad]).await), sf);
            assert_eq!(
                code(
                    s.batch()
                        .set([BatchEntry::new("a", &1.0), BatchEntry::new("b", &bad)])
                        .await
                ),
                sf
            );
            assert_eq!(code(s.claim().once("c", &bad, LONG).await), sf);
            assert_eq!(code(s.streams().append("s", &bad).await), sf);
            assert!(keys_of(&s).await.is_empty(), "{adapter}: nothing written");
        }
    }
}

/// A value whose serialization fails.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<Sr: Serializer>(&self, _: Sr) -> Result<Sr::Ok, Sr::Error> {
        Err(serde::ser::Error::custom("no"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_do_not_serialize_are_serialization_failed() {
    let tuple_keys: HashMap<(u8, u8), u8> = HashMap::from([((1, 2), 3)]);
    let bytes_keys: BTreeMap<Vec<u8>, u8> = BTreeMap::from([(vec![1], 2)]);
    for (adapter, s) in orgs().await {
        let sf = ErrorCode::SerializationFailed;
        assert_eq!(code(s.kv().set("m", &tuple_keys).await), sf, "{adapter}");
        assert_eq!(code(s.kv().set("m", &bytes_keys).await), sf);
        assert_eq!(code(s.kv().set("m", &Unserializable).await), sf);
        assert_eq!(code(s.kv().set("m", &Unserializable).ttl(LONG).await), sf);
        assert_eq!(
            code(
                s.batch()
                    .set([
                        BatchEntry::new("a", &tuple_keys),
                        BatchEntry::new("b", &HashMap::new()),
                    ])
                    .await
            ),
            sf
        );
        assert_eq!(code(s.claim().once("c", &tuple_keys, LONG).await), sf);
        assert_eq!(code(s.claim().release("c", &Unserializable).await), sf);
        assert_eq!(code(s.streams().append("s", &bytes_keys).await), sf);
        assert!(keys_of(&s).await.is_empty(), "{adapter}: nothing written");
        // integer map keys are fine: JSON writes them as strings
        s.kv()
            .set("ok", &HashMap::from([(1u8, 2u8)]))
            .await
            .unwrap();
        assert_eq!(
            s.kv().get::<HashMap<u8, u8>>("ok").await.unwrap(),
            Some(HashMap::from([(1, 2)]))
        );
    }
}

/// A store built with `.max_value_size(n)` refuses, before any
/// I/O, every value whose encoding is longer than `n` bytes with
/// `STORE_VALUE_TOO_LARGE` (details `size` and `limit`, no value): kv
/// `set`, `batch.set` (the whole batch), claim owners, stream appends and
/// event payloads. `n` bytes exactly is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_over_the_size_limit_are_refused() {
    let limit = 1024;
    let mut adapters: Vec<Backend> = vec![Backend::new(MemoryAdapter::new())];
    if !support::skip_redis() {
        adapters.push(Backend::new(
            RedisAdapter::connect(&support::shared().url())
                .await
                .unwrap(),
        ));
    }
    for adapter in adapters {
        let s: Root = Store::builder()
            .shared_adapter(adapter)
            .service(service())
            .scopes::<Tenant>()
            .actors::<Actor>()
            .max_value_size(limit)
            .build()
            .unwrap();
        let s = s.scope(tenant::Organization, "o").unwrap();
        // a JSON string of `limit` bytes: the quotes count
        let fits = "x".repeat(limit - 2);
        let over = "x".repeat(limit - 1);
        s.kv().set("fits", &fits).await.unwrap();
        let too_large = |r: StoreResult<()>| {
            let e = r.expect_err("over the limit");
            assert_eq!(e.code().as_str(), "STORE_VALUE_TOO_LARGE");
            let details = e.details().expect("details");
            assert_eq!(details["limit"], limit);
            assert_eq!(details["size"], limit + 1);
        };
        too_large(s.kv().set("over", &over).await);
        too_large(
            s.batch()
                .set([BatchEntry::new("a", &fits), BatchEntry::new("b", &over)])
                .await,
        );
        too_large(s.claim().once("c", &over, LONG).await.map(drop));
        too_large(s.streams().append("s", &over).await.map(drop));
        assert_eq!(s.kv().get::<String>("a").await.unwrap(), None);
        assert_eq!(keys_of(&s).await.len(), 1, "only `fits` was written");
    }
}

// ----------------------------------------------------------------- counters

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_overflow_past_i64_is_counter_overflow() {
    for (adapter, s) in orgs().await {
        let c = s.counter();
        let co = ErrorCode::CounterOverflow;
        assert_eq!(c.increment_by("n", i64::MAX).await.unwrap(), i64::MAX);
        assert_eq!(code(c.increment("n").await), co, "{adapter}");
        assert_eq!(code(c.increment_by("n", i64::MAX).await), co);
        assert_eq!(
            code(c.increment("n").ttl_on_create(LONG).await),
            co,
            "{adapter}: the rate-limiter path"
        );
        assert_eq!(c.get("n").await.unwrap(), i64::MAX, "unchanged");
        assert_eq!(c.decrement_by("n", i64::MAX).await.unwrap(), 0);
        assert_eq!(c.decrement_by("n", i64::MAX).await.unwrap(), -i64::MAX);
        assert_eq!(c.decrement("n").await.unwrap(), i64::MIN);
        assert_eq!(code(c.decrement("n").await), co);
        assert_eq!(code(c.increment_by("n", -1).await), co);
        assert_eq!(c.get("n").await.unwrap(), i64::MIN, "unchanged");
        // `-i64::MIN` does not exist
        assert_eq!(code(c.decrement_by("m", i64::MIN).await), co);
        assert_eq!(c.get("m").await.unwrap(), 0);
        assert_eq!(c.increment_by("m", i64::MIN).await.unwrap(), i64::MIN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_holding_a_non_integer_is_value_not_integer() {
    for (adapter, s) in orgs().await {
        let full = s.counter().key("n").unwrap();
        for bad in [
            "abc",
            "1.5",
            "",
            " 1",
            "1 ",
            "+1",
            "01",
            "-0",
            "1e3",
            "9223372036854775808",
            "\"1\"",
            "\u{0}",
        ] {
            s.adapter()
                .set(&full, Bytes::from(bad), SetOptions::default())
                .await
                .unwrap();
            let vni = ErrorCode::ValueNotInteger;
            assert_eq!(
                code(s.counter().increment("n").await),
                vni,
                "{adapter} {bad:?}"
            );
            assert_eq!(
                code(s.counter().increment("n").ttl_on_create(LONG).await),
                vni,
                "{adapter} {bad:?}: the rate-limiter path"
            );
            assert_eq!(code(s.counter().decrement("n").await), vni);
            assert_eq!(code(s.counter().get("n").await), vni);
            let raw = s.adapter().get(&full).await.unwrap().unwrap();
            assert_eq!(&raw[..], bad.as_bytes(), "unchanged");
        }
        // a stream at a counter's key is another type
        s.adapter().del(&[full.clone().into()]).await.unwrap();
        s.adapter()
            .xadd(&full, Bytes::from("1"), None)
            .await
            .unwrap();
        assert_eq!(
            code(s.counter().increment("n").await),
            ErrorCode::WrongType,
            "{adapter}"
        );
        assert_eq!(code(s.counter().get("n").await), ErrorCode::WrongType);
    }
}

// --------------------------------------------------------------------- TTLs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_of_zero_or_overflowing_are_ttl_invalid() {
    let hundred_years = Duration::from_secs(100 * 365 * 24 * 3600);
    let invalid = [
        Duration::ZERO,
        hundred_years + Duration::from_nanos(1),
        Duration::MAX,
        Duration::from_secs(u64::MAX / 1000),
    ];
    for (adapter, s) in orgs().await {
        s.kv().set("k", &1).await.unwrap();
        s.counter().increment("c").await.unwrap();
        let claim = s.claim().acquire("held", LONG).await.unwrap().unwrap();
        let ti = ErrorCode::TtlInvalid;
        for ttl in invalid {
            let at = format!("{adapter} {ttl:?}");
            assert_eq!(code(s.kv().set("k", &2).ttl(ttl).await), ti, "{at}");
            assert_eq!(code(s.kv().expire("k", ttl).await), ti, "{at}");
            assert_eq!(code(s.kv().touch("k", ttl).await), ti, "{at}");
            assert_eq!(
                code(s.counter().increment("c").ttl_on_create(ttl).await),
                ti,
                "{at}"
            );
            assert_eq!(code(s.counter().expire("c", ttl).await), ti, "{at}");
            assert_eq!(code(s.claim().once("o", &"me", ttl).await), ti, "{at}");
            assert_eq!(code(s.claim().acquire("a", ttl).await), ti, "{at}");
            assert_eq!(code(claim.extend(ttl).await), ti, "{at}");
            assert_eq!(
                code(s.batch().set([BatchEntry::new("b", &1).ttl(ttl)]).await),
                ti,
                "{at}"
            );
        }
        // nothing changed
        assert_eq!(s.kv().get::<u8>("k").await.unwrap(), Some(1));
        assert_eq!(s.kv().ttl("k").await.unwrap(), KeyTtl::Persistent);
        assert_eq!(s.counter().get("c").await.unwrap(), 1);
        assert_eq!(s.kv().get::<u8>("b").await.unwrap(), None);
        // the smallest and the largest valid TTLs
        s.kv()
            .set("tiny", &1)
            .ttl(Duration::from_nanos(1))
            .await
            .unwrap();
        s.kv().set("huge", &1).ttl(hundred_years).await.unwrap();
        match s.kv().ttl("huge").await.unwrap() {
            KeyTtl::Expires(d) => assert!(d > hundred_years - LONG, "{adapter} {d:?}"),
            other => panic!("{adapter}: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            s.kv().get::<u8>("tiny").await.unwrap(),
            None,
            "{adapter}: 1 ns is 1 ms"
        );
    }
}

/// Found by this file: `Read::block` adds the block time to `Instant::now()`
/// unchecked (`store/src/streams/group.rs`, `read_group`), so a block of
/// `Duration::MAX` (or anything past the `Instant` range) panics with
/// "overflow when adding duration to instant". Expected: no panic — the
/// block time capped (as the memory adapter caps TTLs) or refused with a
/// code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_read_of_duration_max_does_not_panic() {
    for (adapter, s) in orgs().await {
        let g = s.streams().group("g", "c");
        g.ensure("s").await.unwrap();
        let reader = {
            let s = s.clone();
            tokio::spawn(async move {
                s.streams()
                    .group("g", "c")
                    .read::<u8>("s")
                    .block(Duration::MAX)
                    .await
                    .map(|entries| entries.len())
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.streams().append("s", &1u8).await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("the read returns once an entry is there")
            .unwrap_or_else(|e| panic!("{adapter}: the read panicked: {e}"));
        match read {
            Ok(n) => assert_eq!(n, 1, "{adapter}"),
            Err(e) => assert_ne!(e.code(), ErrorCode::OperationFailed, "{adapter}: {e}"),
        }
    }
}

async fn reclaim_with(min_idle: Duration) {
    for (adapter, s) in orgs().await {
        let g = s.streams().group("g", "c");
        g.ensure("s").await.unwrap();
        s.streams().append("s", &1u8).await.unwrap();
        assert_eq!(g.read::<u8>("s").await.unwrap().len(), 1);
        let got = g.reclaim::<u8>("s", min_idle).await;
        assert_eq!(
            got.map(|e| e.len()).map_err(|e| e.code()),
            Ok(0),
            "{adapter} {min_idle:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaim_with_a_huge_min_idle_claims_nothing() {
    reclaim_with(Duration::from_secs(100 * 365 * 24 * 3600)).await;
    // the largest idle time Redis takes, i64::MAX ms
    reclaim_with(Duration::from_millis(i64::MAX as u64)).await;
}

/// Found by this file: `RedisAdapter::xautoclaim` sends `min_idle` as
/// `ceil_millis`, which saturates at `u64::MAX`; Redis takes at most
/// `i64::MAX` and answers "ERR Invalid min-idle-time argument for
/// XAUTOCLAIM", so `reclaim(.., Duration::MAX)` fails on Redis with
/// `STORE_STREAM_READ_FAILED` where the memory adapter claims nothing.
/// Expected: the same on both — the idle time capped at `i64::MAX` ms (what
/// Redis takes), so nothing is claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaim_with_min_idle_duration_max_claims_nothing() {
    reclaim_with(Duration::MAX).await;
    reclaim_with(Duration::from_millis(i64::MAX as u64 + 1)).await;
}

// ------------------------------------------------------------------ streams

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Job {
    id: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_entries_that_do_not_decode_are_reported_not_dropped() {
    for (adapter, s) in orgs().await {
        let streams = s.streams();
        let key = streams.key("jobs").unwrap();
        let g = streams.group("g", "c");
        g.ensure("jobs").await.unwrap();
        let raws: Vec<&[u8]> = vec![b"not json", b"\xff\xfe", b"{\"id\":-1}", b"[1,2]", b""];
        for raw in &raws {
            s.adapter()
                .xadd(&key, Bytes::copy_from_slice(raw), None)
                .await
                .unwrap();
        }
        let mut expected = raws.len();
        if adapter == "redis" {
            // an entry another client wrote without the `data` field
            support::shared().cli(["XADD", key.as_str(), "*", "other", "x"]);
            expected += 1;
        }
        streams.append("jobs", &Job { id: 7 }).await.unwrap();

        let read = g.read::<Job>("jobs").await.unwrap();
        assert_eq!(read.len(), expected + 1, "{adapter}");
        for entry in &read[..expected] {
            assert_eq!(
                entry.data.as_ref().map_err(|e| e.code()).unwrap_err(),
                ErrorCode::DeserializationFailed,
                "{adapter} {:?}",
                entry.raw
            );
        }
        assert_eq!(read[expected].data.as_ref().unwrap(), &Job { id: 7 });
        for (entry, raw) in read.iter().zip(&raws) {
            assert_eq!(entry.raw.as_deref(), Some(*raw));
        }
        if adapter == "redis" {
            assert_eq!(read[expected - 1].raw, None, "no data field");
        }
        // the same through range, and they can be acknowledged
        let range = streams.range::<Job>("jobs").await.unwrap();
        assert_eq!(range.len(), expected + 1);
        assert!(range[..expected].iter().all(|e| e.data.is_err()));
        let ids: Vec<&str> = read.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(g.ack("jobs", &ids).await.unwrap(), expected as u64 + 1);
        // not JSON reads as a string where a string is asked for
        let as_text = streams.range::<String>("jobs").count(1).await.unwrap();
        assert_eq!(as_text[0].data.as_deref().unwrap(), "not json");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ids_that_do_not_parse_are_stream_id_invalid() {
    for (adapter, s) in orgs().await {
        let streams = s.streams();
        let g = streams.group("g", "c");
        g.ensure("s").await.unwrap();
        streams.append("s", &1u8).await.unwrap();
        let sii = ErrorCode::StreamIdInvalid;
        for bad in ["x", "1-", "-1", "1-x", "18446744073709551616-0", "1.5"] {
            assert_eq!(code(g.ack("s", &[bad]).await), sii, "{adapter} ack {bad:?}");
            assert_eq!(
                code(streams.range::<u8>("s").start(bad).await),
                sii,
                "{adapter} range {bad:?}"
            );
            assert_eq!(
                code(streams.group("h", "c").ensure("s").start_id(bad).await),
                sii,
                "{adapter} ensure {bad:?}"
            );
        }
        // a string at a stream's key is another type
        let key = streams.key("t").unwrap();
        s.adapter()
            .set(&key, Bytes::from("1"), SetOptions::default())
            .await
            .unwrap();
        assert_eq!(
            code(streams.append("t", &1u8).await),
            ErrorCode::WrongType,
            "{adapter}"
        );
        assert_eq!(code(streams.range::<u8>("t").await), ErrorCode::WrongType);
        assert_eq!(code(g.ensure("t").await), ErrorCode::WrongType, "{adapter}");
    }
}

// ------------------------------------------------------------------- events

async fn next<T>(
    sub: &mut Subscription<T>,
) -> StoreResult<Arc<igniter_store::events::EventContext<T>>> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an item within 5 s")
        .expect("the subscription goes on")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_of_a_newer_version_with_unknown_fields_is_accepted() {
    for (adapter, s) in orgs().await {
        let mut sub = s.events().subscribe(&Billing::CHARGED).await.unwrap();
        let channel = s.events().channel_name(&Billing::CHARGED).unwrap();
        let envelope = serde_json::json!({
            "version": 2,
            "type": "billing:charged",
            "data": {"cents": 250, "currency": "EUR"},
            "timestamp": "2031-01-01T00:00:00.000Z",
            "scope": {"key": "organization", "identifier": "o", "region": "eu"},
            "scopes": [{"key": "organization", "identifier": "o", "since": 1}],
            "actor": {"key": "user", "identifier": "u", "kind": "human"},
            "trace": {"id": "abc", "sampled": true},
            "signature": null,
        });
        s.adapter()
            .publish(
                &channel,
                Bytes::from(serde_json::to_vec(&envelope).unwrap()),
            )
            .await
            .unwrap();
        let ev = next(&mut sub).await.expect("accepted");
        assert_eq!(ev.data, Charge { cents: 250 }, "{adapter}");
        assert_eq!(ev.event_type, "billing:charged");
        assert_eq!(ev.timestamp, "2031-01-01T00:00:00.000Z");
        assert_eq!(ev.scope.as_ref().unwrap().identifier, "o");
        assert_eq!(ev.scopes.len(), 1);
        assert_eq!(ev.actor.as_ref().unwrap().key, "user");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_outside_the_declared_channels_is_reported_not_fatal() {
    for (adapter, s) in orgs().await {
        let mut all = s.events().subscribe_all::<Billing>().await.unwrap();
        let charged = s.events().channel_name(&Billing::CHARGED).unwrap();
        let prefix = charged.strip_suffix("billing:charged").unwrap().to_owned();
        let publish = |event: String| {
            let (backend, channel) = (s.backend().clone(), format!("{prefix}{event}"));
            async move {
                let adapter = backend.adapter();
                let envelope = serde_json::json!({
                    "type": event, "data": {"cents": 1}, "timestamp": "2026-01-01T00:00:00.000Z",
                });
                adapter
                    .publish(
                        &channel,
                        Bytes::from(serde_json::to_vec(&envelope).unwrap()),
                    )
                    .await
                    .unwrap();
            }
        };
        for undeclared in [
            "billing:unknown",
            "billing:",
            "billing:charged:more",
            "billing:refunds",
            "billing:refunds:issued:x",
        ] {
            publish(undeclared.to_owned()).await;
            assert_eq!(
                code(next(&mut all).await),
                ErrorCode::SchemaChannelNotFound,
                "{adapter} {undeclared}"
            );
        }
        // outside the namespace: not matched by the pattern at all
        publish("billingx:charged".to_owned()).await;
        publish("billing-charged".to_owned()).await;
        // and the subscription goes on
        publish("billing:refunds:issued".to_owned()).await;
        let ev = next(&mut all).await.expect("a declared channel decodes");
        assert!(
            matches!(ev.data, Billing::Refund(Charge { cents: 1 })),
            "{adapter}"
        );
        s.events()
            .publish(&Billing::CHARGED, &Charge { cents: 2 })
            .await
            .unwrap();
        let ev = next(&mut all).await.unwrap();
        assert!(matches!(ev.data, Billing::Charged(Charge { cents: 2 })));
    }
}
