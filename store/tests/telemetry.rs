//! The tracing events of the store, as documented in `src/telemetry.rs`.
//!
//! A recording `tracing_subscriber::Layer` (installed per test with
//! `set_default`, so tests do not see each other's events) keeps every
//! event's name, level, target and fields. The tests check that
//!
//! - every operation emits `igniter.store.<area>.<op>.started` then
//!   `.success`, at DEBUG, target `igniter_store`, with the common fields
//!   (`store.service`, `store.namespace`, `store.scope_key`,
//!   `store.scope_depth`) and the documented per-operation fields;
//! - every failure emits `.started` then `.error`, at ERROR, with
//!   `error.code`, `error.message` and `error.operation`;
//! - the fields of success events are exactly those of the module's table;
//! - no event ever holds a key, a value, a claim owner, a scan pattern or a
//!   scope identifier: every one of them contains `SECRET`, and no recorded
//!   field value does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use igniter_store::adapter::{SetCondition, SetOptions};
use igniter_store::{
    MemoryAdapter, Store, StoreError, StoreScopes, adapter::KeyTtl, batch::BatchEntry,
};
use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

// ---------------------------------------------------------------------------
// Recording

/// One recorded event.
#[derive(Debug, Clone)]
struct Recorded {
    name: &'static str,
    level: Level,
    target: &'static str,
    fields: Vec<(&'static str, String)>,
}

impl Recorded {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn field_names(&self) -> BTreeSet<&'static str> {
        self.fields.iter().map(|(n, _)| *n).collect()
    }
}

/// Records every event: `pending` is drained by [`Recorder::take`], `all`
/// keeps everything for the checks over a whole test.
#[derive(Clone, Default)]
struct Recorder {
    pending: Arc<Mutex<Vec<Recorded>>>,
    all: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// The events since the last `take`.
    fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.pending.lock().unwrap())
    }

    /// Every event of the test.
    fn all(&self) -> Vec<Recorded> {
        self.all.lock().unwrap().clone()
    }
}

struct FieldVisitor<'a>(&'a mut Vec<(&'static str, String)>);

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole chain of causes: none of them may quote tenant data either.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.0.push((field.name(), text));
    }
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut fields = Vec::new();
        event.record(&mut FieldVisitor(&mut fields));
        let recorded = Recorded {
            name: metadata.name(),
            level: *metadata.level(),
            target: metadata.target(),
            fields,
        };
        self.all.lock().unwrap().push(recorded.clone());
        self.pending.lock().unwrap().push(recorded);
    }
}

/// A recorder, the default subscriber of this thread until the guard drops.
fn install() -> (Recorder, DefaultGuard) {
    let recorder = Recorder::default();
    let guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    (recorder, guard)
}

// ---------------------------------------------------------------------------
// The store under test

#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
}

/// A set whose required scope is not the first: a chain may stop above it.
#[derive(StoreScopes, Clone, Copy, Debug)]
enum Nested {
    Organization,
    #[scope(required)]
    Project,
}

const SERVICE: &str = "telemetry-svc";
const ORG_ID: &str = "org-SECRET-ID";
const WS_ID: &str = "ws-SECRET-ID";
const VALUE: &str = "value-SECRET";
const OWNER: &str = "owner-SECRET";
const OTHER_OWNER: &str = "other-owner-SECRET";

fn new_store(memory: &MemoryAdapter) -> Store<Tenant> {
    Store::builder()
        .adapter(memory.clone())
        .service(SERVICE)
        .scopes::<Tenant>()
        .build()
        .expect("a valid store")
}

/// A runtime with paused time, so TTLs read back exactly.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
}

/// The scope of the handle an operation ran on.
#[derive(Debug, Clone, Copy)]
struct At {
    scope_key: Option<&'static str>,
    depth: usize,
}

const ROOT: At = At {
    scope_key: None,
    depth: 0,
};
const ORG: At = At {
    scope_key: Some("organization"),
    depth: 1,
};
const WS: At = At {
    scope_key: Some("ws"),
    depth: 2,
};

const COMMON: [&str; 4] = [
    "store.service",
    "store.namespace",
    "store.scope_key",
    "store.scope_depth",
];

fn assert_common(event: &Recorded, namespace: &str, at: At) {
    let name = event.name;
    assert_eq!(event.target, "igniter_store", "{name}: target");
    assert_eq!(
        event.field("store.service"),
        Some(SERVICE),
        "{name}: store.service"
    );
    assert_eq!(
        event.field("store.namespace"),
        Some(namespace),
        "{name}: store.namespace"
    );
    assert_eq!(
        event.field("store.scope_key"),
        at.scope_key,
        "{name}: store.scope_key"
    );
    assert_eq!(
        event.field("store.scope_depth"),
        Some(at.depth.to_string().as_str()),
        "{name}: store.scope_depth"
    );
}

/// Checks that `events` are exactly `<op>.started` then `<op>.success`, and
/// that the success event has `fields` (`Some(value)`: with that value;
/// `None`: absent). Returns the success event.
#[track_caller]
fn assert_success(
    events: Vec<Recorded>,
    op: &str,
    namespace: &str,
    at: At,
    fields: &[(&str, Option<&str>)],
) -> Recorded {
    let names: Vec<&str> = events.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            format!("igniter.store.{op}.started"),
            format!("igniter.store.{op}.success")
        ],
        "events of {op}: {events:#?}"
    );
    let (started, success) = (&events[0], &events[1]);
    for event in [started, success] {
        assert_eq!(event.level, Level::DEBUG, "{}: level", event.name);
        assert_common(event, namespace, at);
    }
    let started_names = started.field_names();
    assert!(
        started_names.iter().all(|n| COMMON.contains(n)),
        "{op}.started carries more than the common fields: {started_names:?}"
    );
    for (name, want) in fields {
        assert_eq!(
            success.field(name),
            *want,
            "{op}.success: field {name} in {:?}",
            success.fields
        );
    }
    success.clone()
}

/// Checks that `events` are exactly `<op>.started` then `<op>.error`, the
/// error carrying `err`'s code and message. Returns the error event.
#[track_caller]
fn assert_error(
    events: Vec<Recorded>,
    op: &str,
    namespace: &str,
    at: At,
    code: &str,
    err: &StoreError,
) -> Recorded {
    assert_eq!(err.code().as_str(), code, "the code {op} returned ({err})");
    let names: Vec<&str> = events.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            format!("igniter.store.{op}.started"),
            format!("igniter.store.{op}.error")
        ],
        "events of {op}: {events:#?}"
    );
    let (started, error) = (&events[0], &events[1]);
    assert_eq!(started.level, Level::DEBUG, "{}: level", started.name);
    assert_eq!(error.level, Level::ERROR, "{}: level", error.name);
    assert_common(started, namespace, at);
    assert_common(error, namespace, at);
    assert_eq!(
        error.field("error.code"),
        Some(code),
        "{op}.error: error.code"
    );
    assert_eq!(
        error.field("error.message"),
        Some(err.message()),
        "{op}.error: error.message"
    );
    assert!(!err.message().is_empty(), "{op}: an empty error message");
    assert_eq!(
        error.field("error.operation"),
        Some(op),
        "{op}.error: error.operation"
    );
    let extra: Vec<&str> = error
        .field_names()
        .into_iter()
        .filter(|n| {
            !COMMON.contains(n) && !["error.code", "error.message", "error.operation"].contains(n)
        })
        .collect();
    assert!(
        extra.is_empty(),
        "{op}.error carries undocumented fields {extra:?}"
    );
    error.clone()
}

/// No recorded event holds anything marked `SECRET` (keys, values, owners,
/// patterns and identifiers all are).
#[track_caller]
fn assert_nothing_identifying(events: &[Recorded]) {
    assert!(!events.is_empty(), "nothing was recorded");
    for event in events {
        assert!(
            !event.name.contains("SECRET"),
            "an event name holds tenant data: {event:?}"
        );
        assert!(
            !event.target.contains("SECRET"),
            "an event target holds tenant data: {event:?}"
        );
        for (name, value) in &event.fields {
            assert!(
                !value.contains("SECRET") && !name.contains("SECRET"),
                "field {name} of {} holds tenant data: {value:?}",
                event.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Drivers

/// Runs every operation successfully, checking each one's events.
async fn every_operation(rec: &Recorder) {
    let memory = MemoryAdapter::new();
    let store = new_store(&memory);
    let org = store.scope(Tenant::Organization, ORG_ID).unwrap();
    let ws = org.scope(Tenant::Workspace, WS_ID).unwrap();
    let key = "key-SECRET";
    let missing = "missing-SECRET";
    assert!(
        rec.take().is_empty(),
        "building a store or a scope emits nothing"
    );

    // kv
    ws.kv().set(key, &VALUE).await.unwrap();
    assert_success(rec.take(), "kv.set", "kv", WS, &[("kv.ttl", None)]);
    ws.kv()
        .set(key, &VALUE)
        .ttl(Duration::from_millis(1500))
        .await
        .unwrap();
    assert_success(rec.take(), "kv.set", "kv", WS, &[("kv.ttl", Some("1500"))]);

    assert_eq!(
        ws.kv().get::<String>(key).await.unwrap().as_deref(),
        Some(VALUE)
    );
    assert_success(
        rec.take(),
        "kv.get",
        "kv",
        WS,
        &[("kv.found", Some("true"))],
    );
    assert_eq!(ws.kv().get::<String>(missing).await.unwrap(), None);
    assert_success(
        rec.take(),
        "kv.get",
        "kv",
        WS,
        &[("kv.found", Some("false"))],
    );

    assert!(ws.kv().exists(key).await.unwrap());
    assert_success(
        rec.take(),
        "kv.exists",
        "kv",
        WS,
        &[("kv.existed", Some("true"))],
    );
    assert!(!ws.kv().exists(missing).await.unwrap());
    assert_success(
        rec.take(),
        "kv.exists",
        "kv",
        WS,
        &[("kv.existed", Some("false"))],
    );

    assert_eq!(
        ws.kv().ttl(key).await.unwrap(),
        KeyTtl::Expires(Duration::from_millis(1500))
    );
    assert_success(
        rec.take(),
        "kv.ttl",
        "kv",
        WS,
        &[("kv.found", Some("true")), ("kv.ttl", Some("1500"))],
    );

    assert!(ws.kv().expire(key, Duration::from_secs(2)).await.unwrap());
    assert_success(
        rec.take(),
        "kv.expire",
        "kv",
        WS,
        &[("kv.existed", Some("true"))],
    );
    assert!(
        !ws.kv()
            .expire(missing, Duration::from_secs(2))
            .await
            .unwrap()
    );
    assert_success(
        rec.take(),
        "kv.expire",
        "kv",
        WS,
        &[("kv.existed", Some("false"))],
    );

    assert!(ws.kv().touch(key, Duration::from_secs(3)).await.unwrap());
    assert_success(
        rec.take(),
        "kv.touch",
        "kv",
        WS,
        &[("kv.existed", Some("true"))],
    );

    assert!(ws.kv().persist(key).await.unwrap());
    assert_success(
        rec.take(),
        "kv.persist",
        "kv",
        WS,
        &[("kv.existed", Some("true"))],
    );
    assert_eq!(ws.kv().ttl(key).await.unwrap(), KeyTtl::Persistent);
    assert_success(
        rec.take(),
        "kv.ttl",
        "kv",
        WS,
        &[("kv.found", Some("true")), ("kv.ttl", None)],
    );

    assert!(ws.kv().remove(key).await.unwrap());
    assert_success(
        rec.take(),
        "kv.remove",
        "kv",
        WS,
        &[("kv.existed", Some("true"))],
    );
    assert_eq!(ws.kv().ttl(key).await.unwrap(), KeyTtl::Missing);
    assert_success(
        rec.take(),
        "kv.ttl",
        "kv",
        WS,
        &[("kv.found", Some("false")), ("kv.ttl", None)],
    );

    // The innermost scope key follows the handle.
    assert_eq!(org.kv().get::<String>(key).await.unwrap(), None);
    assert_success(
        rec.take(),
        "kv.get",
        "kv",
        ORG,
        &[("kv.found", Some("false"))],
    );

    // counter
    let counter = "counter-SECRET";
    assert_eq!(ws.counter().increment(counter).await.unwrap(), 1);
    assert_success(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        &[
            ("counter.delta", Some("1")),
            ("counter.value", Some("1")),
            ("counter.ttl", None),
        ],
    );
    assert_eq!(ws.counter().increment_by(counter, 5).await.unwrap(), 6);
    assert_success(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        &[
            ("counter.delta", Some("5")),
            ("counter.value", Some("6")),
            ("counter.ttl", None),
        ],
    );
    assert_eq!(ws.counter().decrement(counter).await.unwrap(), 5);
    assert_success(
        rec.take(),
        "counter.decrement",
        "counter",
        WS,
        &[
            ("counter.delta", Some("-1")),
            ("counter.value", Some("5")),
            ("counter.ttl", None),
        ],
    );
    assert_eq!(ws.counter().decrement_by(counter, 2).await.unwrap(), 3);
    assert_success(
        rec.take(),
        "counter.decrement",
        "counter",
        WS,
        &[("counter.delta", Some("-2")), ("counter.value", Some("3"))],
    );
    let rate = "rate-SECRET";
    let used = ws
        .counter()
        .increment(rate)
        .ttl_on_create(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(used, 1);
    assert_success(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        &[
            ("counter.delta", Some("1")),
            ("counter.value", Some("1")),
            ("counter.ttl", Some("30000")),
        ],
    );
    assert_eq!(ws.counter().get(counter).await.unwrap(), 3);
    assert_success(
        rec.take(),
        "counter.get",
        "counter",
        WS,
        &[("counter.value", Some("3"))],
    );
    assert_eq!(ws.counter().get(missing).await.unwrap(), 0);
    assert_success(
        rec.take(),
        "counter.get",
        "counter",
        WS,
        &[("counter.value", Some("0"))],
    );
    assert!(
        ws.counter()
            .expire(counter, Duration::from_secs(10))
            .await
            .unwrap()
    );
    assert_success(
        rec.take(),
        "counter.expire",
        "counter",
        WS,
        &[("counter.ttl", Some("10000")), ("kv.existed", Some("true"))],
    );
    // Not in the module's table (see `success_fields_are_the_documented_ones`).
    assert!(ws.counter().remove(counter).await.unwrap());
    assert_success(rec.take(), "counter.remove", "counter", WS, &[]);

    // claims, once
    let job = "claim-SECRET";
    let ttl = Duration::from_secs(30);
    assert!(ws.claim().once(job, &OWNER, ttl).await.unwrap());
    assert_success(
        rec.take(),
        "claim.once",
        "claim",
        WS,
        &[
            ("claim.acquired", Some("true")),
            ("claim.ttl", Some("30000")),
        ],
    );
    assert!(!ws.claim().once(job, &OTHER_OWNER, ttl).await.unwrap());
    assert_success(
        rec.take(),
        "claim.once",
        "claim",
        WS,
        &[
            ("claim.acquired", Some("false")),
            ("claim.ttl", Some("30000")),
        ],
    );
    assert!(!ws.claim().release(job, &OTHER_OWNER).await.unwrap());
    assert_success(
        rec.take(),
        "claim.release",
        "claim",
        WS,
        &[("claim.released", Some("false"))],
    );
    assert!(ws.claim().release(job, &OWNER).await.unwrap());
    assert_success(
        rec.take(),
        "claim.release",
        "claim",
        WS,
        &[("claim.released", Some("true"))],
    );

    // claims, acquire
    let lock = "lock-SECRET";
    let claim = ws
        .claim()
        .acquire(lock, ttl)
        .await
        .unwrap()
        .expect("a free claim");
    assert_success(
        rec.take(),
        "claim.acquire",
        "claim",
        WS,
        &[
            ("claim.acquired", Some("true")),
            ("claim.ttl", Some("30000")),
        ],
    );
    assert!(ws.claim().acquire(lock, ttl).await.unwrap().is_none());
    assert_success(
        rec.take(),
        "claim.acquire",
        "claim",
        WS,
        &[
            ("claim.acquired", Some("false")),
            ("claim.ttl", Some("30000")),
        ],
    );
    assert!(claim.extend(Duration::from_secs(40)).await.unwrap());
    assert_success(
        rec.take(),
        "claim.extend",
        "claim",
        WS,
        &[("claim.extended", Some("true"))],
    );
    assert!(claim.release().await.unwrap());
    assert_success(
        rec.take(),
        "claim.release",
        "claim",
        WS,
        &[("claim.released", Some("true"))],
    );
    assert!(!claim.release().await.unwrap());
    assert_success(
        rec.take(),
        "claim.release",
        "claim",
        WS,
        &[("claim.released", Some("false"))],
    );
    assert!(!claim.extend(Duration::from_secs(40)).await.unwrap());
    assert_success(
        rec.take(),
        "claim.extend",
        "claim",
        WS,
        &[("claim.extended", Some("false"))],
    );

    // batch
    let (b1, b2) = ("batch-SECRET-1", "batch-SECRET-2");
    ws.batch()
        .set([
            BatchEntry::new(b1, &VALUE),
            BatchEntry::new(b2, &VALUE).ttl(ttl),
        ])
        .await
        .unwrap();
    assert_success(
        rec.take(),
        "batch.set",
        "kv",
        WS,
        &[("batch.count", Some("2"))],
    );
    let values: Vec<Option<String>> = ws.batch().get(&[b1, missing, b2]).await.unwrap();
    assert_eq!(values.iter().filter(|v| v.is_some()).count(), 2);
    assert_success(
        rec.take(),
        "batch.get",
        "kv",
        WS,
        &[("batch.count", Some("3")), ("batch.found", Some("2"))],
    );

    // dev
    let page = ws.dev().scan("*").count(100).await.unwrap();
    assert_eq!(page.keys.len(), 2);
    assert_success(
        rec.take(),
        "dev.scan",
        "kv",
        WS,
        &[("dev.count", Some("2"))],
    );
    let all: Vec<String> = ws
        .dev()
        .scan_all("batch-SECRET-*")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_success(
        rec.take(),
        "dev.scan",
        "kv",
        WS,
        &[("dev.count", Some("2"))],
    );

    let before = memory.len();
    let purged = ws.purge().await.unwrap();
    assert_eq!(usize::try_from(purged).unwrap(), before - memory.len());
    assert!(purged > 0);
    // Purge spans every namespace; it reports `*` (not in the module docs).
    assert_success(
        rec.take(),
        "dev.purge",
        "*",
        WS,
        &[("dev.count", Some(purged.to_string().as_str()))],
    );
}

/// Runs failing operations, checking each one's events.
async fn every_failure(rec: &Recorder) {
    let memory = MemoryAdapter::new();
    let store = new_store(&memory);
    let ws = store
        .scope(Tenant::Organization, ORG_ID)
        .unwrap()
        .scope(Tenant::Workspace, WS_ID)
        .unwrap();
    let key = "key-SECRET";
    let zero = Duration::ZERO;
    let ttl = Duration::from_secs(30);
    const TTL_INVALID: &str = "STORE_TTL_INVALID";
    rec.take();

    // Invalid TTLs.
    let err = ws.kv().set(key, &VALUE).ttl(zero).await.unwrap_err();
    assert_error(rec.take(), "kv.set", "kv", WS, TTL_INVALID, &err);
    let too_long = Duration::from_secs(101 * 365 * 24 * 3600);
    let err = ws.kv().set(key, &VALUE).ttl(too_long).await.unwrap_err();
    assert_error(rec.take(), "kv.set", "kv", WS, TTL_INVALID, &err);
    ws.kv().set(key, &VALUE).await.unwrap();
    rec.take();
    let err = ws.kv().expire(key, zero).await.unwrap_err();
    assert_error(rec.take(), "kv.expire", "kv", WS, TTL_INVALID, &err);
    let err = ws.kv().touch(key, zero).await.unwrap_err();
    assert_error(rec.take(), "kv.touch", "kv", WS, TTL_INVALID, &err);
    let err = ws
        .counter()
        .increment(key)
        .ttl_on_create(zero)
        .await
        .unwrap_err();
    assert_error(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        TTL_INVALID,
        &err,
    );
    let err = ws
        .counter()
        .decrement(key)
        .ttl_on_create(zero)
        .await
        .unwrap_err();
    assert_error(
        rec.take(),
        "counter.decrement",
        "counter",
        WS,
        TTL_INVALID,
        &err,
    );
    let err = ws.counter().expire(key, zero).await.unwrap_err();
    assert_error(
        rec.take(),
        "counter.expire",
        "counter",
        WS,
        TTL_INVALID,
        &err,
    );
    let err = ws.claim().once(key, &OWNER, zero).await.unwrap_err();
    assert_error(rec.take(), "claim.once", "claim", WS, TTL_INVALID, &err);
    let err = ws.claim().acquire(key, zero).await.unwrap_err();
    assert_error(rec.take(), "claim.acquire", "claim", WS, TTL_INVALID, &err);
    let claim = ws
        .claim()
        .acquire(key, ttl)
        .await
        .unwrap()
        .expect("a free claim");
    rec.take();
    let err = claim.extend(zero).await.unwrap_err();
    assert_error(rec.take(), "claim.extend", "claim", WS, TTL_INVALID, &err);
    let (b1, b2) = ("batch-SECRET-1", "batch-SECRET-2");
    let err = ws
        .batch()
        .set([
            BatchEntry::new(b1, &VALUE),
            BatchEntry::new(b2, &VALUE).ttl(zero),
        ])
        .await
        .unwrap_err();
    assert_error(rec.take(), "batch.set", "kv", WS, TTL_INVALID, &err);
    // All or nothing.
    assert!(!ws.kv().exists(b1).await.unwrap());
    rec.take();

    // Missing required scope. A chain that skips it is refused when it is
    // built, before any I/O and without an event (`scope()` is no operation):
    const REQUIRED: &str = "STORE_SCOPE_REQUIRED";
    let err = store.scope(Tenant::Workspace, WS_ID).unwrap_err();
    assert_eq!(err.code().as_str(), REQUIRED);
    assert!(!err.to_string().contains("SECRET"), "{err}");
    assert_eq!(rec.take().len(), 0, "a refused scope() emits no event");
    // so the handle that lacks it is the root, whose data operations run
    // once it is dynamic (the typed root has none) and fail with the code.
    let root = store.clone().into_dynamic();
    let err = root.kv().get::<String>(key).await.unwrap_err();
    assert_error(rec.take(), "kv.get", "kv", ROOT, REQUIRED, &err);
    let err = root.kv().set(key, &VALUE).await.unwrap_err();
    assert_error(rec.take(), "kv.set", "kv", ROOT, REQUIRED, &err);
    // A chain can stop above a required scope that is not the first one: its
    // operations fail the same way, and their events name where it stopped.
    let org_only = Store::builder()
        .adapter(memory.clone())
        .service(SERVICE)
        .scopes::<Nested>()
        .build()
        .expect("a valid store")
        .scope(Nested::Organization, ORG_ID)
        .unwrap();
    let err = org_only.kv().exists(key).await.unwrap_err();
    assert_error(rec.take(), "kv.exists", "kv", ORG, REQUIRED, &err);
    let err = org_only.counter().increment(key).await.unwrap_err();
    assert_error(
        rec.take(),
        "counter.increment",
        "counter",
        ORG,
        REQUIRED,
        &err,
    );
    let err = org_only.counter().get(key).await.unwrap_err();
    assert_error(rec.take(), "counter.get", "counter", ORG, REQUIRED, &err);
    let err = org_only.claim().once(key, &OWNER, ttl).await.unwrap_err();
    assert_error(rec.take(), "claim.once", "claim", ORG, REQUIRED, &err);
    let err = org_only.claim().acquire(key, ttl).await.unwrap_err();
    assert_error(rec.take(), "claim.acquire", "claim", ORG, REQUIRED, &err);
    let err = org_only.batch().get::<String, _>(&[key]).await.unwrap_err();
    assert_error(rec.take(), "batch.get", "kv", ORG, REQUIRED, &err);
    let err = org_only
        .batch()
        .set([BatchEntry::new(key, &VALUE)])
        .await
        .unwrap_err();
    assert_error(rec.take(), "batch.set", "kv", ORG, REQUIRED, &err);
    let err = org_only.dev().scan("key-SECRET*").await.unwrap_err();
    assert_error(rec.take(), "dev.scan", "kv", ORG, REQUIRED, &err);
    // The positive control: with the project, the same handle's child works.
    let project = org_only.scope(Nested::Project, WS_ID).unwrap();
    assert!(!project.kv().exists(key).await.unwrap());
    rec.take();
    let err = root.purge().await.unwrap_err();
    assert_error(rec.take(), "dev.purge", "*", ROOT, REQUIRED, &err);

    // A counter whose value is not an integer (written by another client).
    let bad = "not-integer-SECRET";
    let full = ws.counter().key(bad).unwrap();
    store
        .adapter()
        .set(
            &full,
            Bytes::from_static(b"value-SECRET"),
            SetOptions::new(None, SetCondition::Always),
        )
        .await
        .unwrap();
    rec.take();
    const NOT_INTEGER: &str = "STORE_VALUE_NOT_INTEGER";
    let err = ws.counter().increment(bad).await.unwrap_err();
    assert_error(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        NOT_INTEGER,
        &err,
    );
    let err = ws.counter().get(bad).await.unwrap_err();
    assert_error(rec.take(), "counter.get", "counter", WS, NOT_INTEGER, &err);

    // Counter overflow.
    let big = "big-SECRET";
    ws.counter().increment_by(big, i64::MAX).await.unwrap();
    rec.take();
    let err = ws.counter().increment(big).await.unwrap_err();
    assert_error(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        "STORE_COUNTER_OVERFLOW",
        &err,
    );

    // Decoding a stored value as the wrong type: serde's errors quote the
    // value ("invalid type: string \"value-SECRET\"", "unknown variant
    // `value-SECRET`").
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Plan {
        Free,
        Pro,
    }
    const DECODE: &str = "STORE_DESERIALIZATION_FAILED";
    let err = ws.kv().get::<u64>(key).await.unwrap_err();
    assert_error(rec.take(), "kv.get", "kv", WS, DECODE, &err);
    let err = ws.kv().get::<Plan>(key).await.unwrap_err();
    assert_error(rec.take(), "kv.get", "kv", WS, DECODE, &err);
    let err = ws.batch().get::<u64, _>(&[key]).await.unwrap_err();
    assert_error(rec.take(), "batch.get", "kv", WS, DECODE, &err);

    // A value that does not serialize (a map whose keys are not strings).
    let unserializable: BTreeMap<Vec<u8>, &str> = BTreeMap::from([(b"key-SECRET".to_vec(), VALUE)]);
    const ENCODE: &str = "STORE_SERIALIZATION_FAILED";
    let err = ws.kv().set(key, &unserializable).await.unwrap_err();
    assert_error(rec.take(), "kv.set", "kv", WS, ENCODE, &err);
    let err = ws
        .claim()
        .once("other-SECRET", &unserializable, ttl)
        .await
        .unwrap_err();
    assert_error(rec.take(), "claim.once", "claim", WS, ENCODE, &err);
    let err = ws
        .claim()
        .release("other-SECRET", &unserializable)
        .await
        .unwrap_err();
    assert_error(rec.take(), "claim.release", "claim", WS, ENCODE, &err);
    let err = ws
        .batch()
        .set([BatchEntry::new(key, &unserializable)])
        .await
        .unwrap_err();
    assert_error(rec.take(), "batch.set", "kv", WS, ENCODE, &err);

    // Empty keys and patterns.
    let err = ws.kv().get::<String>("").await.unwrap_err();
    assert_error(rec.take(), "kv.get", "kv", WS, "STORE_KEY_REQUIRED", &err);
    let err = ws.counter().increment("").await.unwrap_err();
    assert_error(
        rec.take(),
        "counter.increment",
        "counter",
        WS,
        "STORE_KEY_REQUIRED",
        &err,
    );
    let err = ws
        .batch()
        .get::<String, &str>(&[key, ""])
        .await
        .unwrap_err();
    assert_error(
        rec.take(),
        "batch.get",
        "kv",
        WS,
        "STORE_KEY_REQUIRED",
        &err,
    );
    let err = ws.dev().scan("").await.unwrap_err();
    assert_error(
        rec.take(),
        "dev.scan",
        "kv",
        WS,
        "STORE_SCAN_PATTERN_REQUIRED",
        &err,
    );

    // A closed adapter.
    store.close().await.unwrap();
    rec.take();
    const CLOSED: &str = "STORE_NOT_CONNECTED";
    let err = ws.kv().get::<String>(key).await.unwrap_err();
    assert_error(rec.take(), "kv.get", "kv", WS, CLOSED, &err);
    let err = ws.claim().once(key, &OWNER, ttl).await.unwrap_err();
    assert_error(rec.take(), "claim.once", "claim", WS, CLOSED, &err);
    let err = claim.release().await.unwrap_err();
    assert_error(rec.take(), "claim.release", "claim", WS, CLOSED, &err);
    let err = ws.purge().await.unwrap_err();
    assert_error(rec.take(), "dev.purge", "*", WS, CLOSED, &err);
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn every_operation_emits_started_then_success() {
    let (rec, _guard) = install();
    runtime().block_on(every_operation(&rec));
    assert_nothing_identifying(&rec.all());
}

#[test]
fn failures_emit_error_events() {
    let (rec, _guard) = install();
    runtime().block_on(every_failure(&rec));
    assert_nothing_identifying(&rec.all());
}

/// Every event of every operation, failures included, with every key, value,
/// claim owner, scan pattern and scope identifier marked `SECRET`: no field
/// holds any of them.
#[test]
fn no_event_holds_a_key_a_value_an_owner_or_an_identifier() {
    let (rec, _guard) = install();
    runtime().block_on(async {
        every_operation(&rec).await;
        every_failure(&rec).await;

        // A few more, in one go: patterns, conflicts, other owners.
        let memory = MemoryAdapter::new();
        let store = new_store(&memory);
        let org = store.scope(Tenant::Organization, "org:SECRET:{x}").unwrap();
        org.kv()
            .set("user:SECRET:1", &"payload-SECRET")
            .await
            .unwrap();
        let keys: Vec<String> = org
            .dev()
            .scan_all("user:SECRET*")
            .try_collect()
            .await
            .unwrap();
        assert_eq!(keys, ["user:SECRET:1"]);
        let _ = org.dev().scan("[SECRET").await.unwrap();
        assert!(
            org.claim()
                .once("job-SECRET", &"owner-SECRET", Duration::from_secs(1))
                .await
                .unwrap()
        );
        assert!(
            !org.claim()
                .release("job-SECRET", &"intruder-SECRET")
                .await
                .unwrap()
        );
        let err = org.kv().get::<Vec<u32>>("user:SECRET:1").await.unwrap_err();
        assert_eq!(err.code().as_str(), "STORE_DESERIALIZATION_FAILED");
        assert!(
            !err.message().contains("SECRET"),
            "the error's message quotes the value: {err}"
        );
        assert!(
            !err.to_string().contains("SECRET"),
            "the error's Display quotes the value: {err}"
        );
        org.purge().await.unwrap();
    });
    let all = rec.all();
    assert!(all.len() > 100, "only {} events recorded", all.len());
    assert_nothing_identifying(&all);
}

/// The fields of each operation's success event, beyond the common ones, as
/// the table of `src/telemetry.rs` lists them: (required, optional "when set").
fn documented_success_fields(
    op: &str,
) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match op {
        "kv.get" => (&["kv.found"], &[]),
        "kv.set" => (&[], &["kv.ttl"]),
        "kv.exists" | "kv.remove" | "kv.persist" => (&["kv.existed"], &[]),
        "kv.expire" | "kv.touch" => (&["kv.existed", "kv.ttl"], &[]),
        "kv.ttl" => (&["kv.found"], &["kv.ttl"]),
        "counter.increment" | "counter.decrement" => {
            (&["counter.delta", "counter.value"], &["counter.ttl"])
        }
        "counter.get" => (&["counter.value"], &[]),
        "counter.expire" => (&["counter.ttl", "kv.existed"], &[]),
        "counter.remove" => (&["kv.existed"], &[]),
        "claim.once" | "claim.acquire" => (&["claim.ttl", "claim.acquired"], &[]),
        "claim.release" => (&["claim.released"], &[]),
        "claim.extend" => (&["claim.extended", "claim.ttl"], &[]),
        "batch.get" => (&["batch.count", "batch.found"], &[]),
        "batch.set" => (&["batch.count"], &[]),
        "dev.scan" | "dev.purge" => (&["dev.count"], &[]),
        _ => return None,
    })
}

/// What is emitted matches the module docs of `src/telemetry.rs`, both ways:
/// every documented operation is emitted with its documented fields, and no
/// emitted operation or field is missing from the docs.
#[test]
fn success_fields_are_the_documented_ones() {
    let (rec, _guard) = install();
    runtime().block_on(every_operation(&rec));
    let mut mismatches = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for event in rec.all() {
        let Some(op) = event
            .name
            .strip_prefix("igniter.store.")
            .and_then(|n| n.strip_suffix(".success"))
        else {
            continue;
        };
        seen.insert(op.to_owned());
        let Some((required, optional)) = documented_success_fields(op) else {
            mismatches.insert(format!("`{op}` is emitted but not in the table"));
            continue;
        };
        let names = event.field_names();
        for name in &names {
            if !COMMON.contains(name) && !required.contains(name) && !optional.contains(name) {
                mismatches.insert(format!("`{op}` success carries `{name}`, not in the table"));
            }
        }
        for name in required {
            if !names.contains(name) {
                mismatches.insert(format!("`{op}` success lacks the documented `{name}`"));
            }
        }
    }
    for op in [
        "kv.get",
        "kv.set",
        "kv.exists",
        "kv.remove",
        "kv.expire",
        "kv.touch",
        "kv.persist",
        "kv.ttl",
        "counter.increment",
        "counter.decrement",
        "counter.get",
        "counter.expire",
        "counter.remove",
        "claim.once",
        "claim.acquire",
        "claim.release",
        "claim.extend",
        "batch.get",
        "batch.set",
        "dev.scan",
        "dev.purge",
    ] {
        if !seen.contains(op) {
            mismatches.insert(format!("`{op}` is in the table but was never emitted"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "src/telemetry.rs's table and the emitted events differ:\n{}",
        mismatches.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// TTL fields report the TTL the store applies: whole milliseconds, rounded
/// up (`KvSet::ttl`'s docs), so never 0 for a TTL the store accepted.
#[test]
fn ttl_fields_are_the_applied_milliseconds() {
    let (rec, _guard) = install();
    let mismatches = runtime().block_on(async {
        let memory = MemoryAdapter::new();
        let store = new_store(&memory);
        let ws = store
            .scope(Tenant::Organization, ORG_ID)
            .unwrap()
            .scope(Tenant::Workspace, WS_ID)
            .unwrap();
        let key = "key-SECRET";
        let sub_ms = Duration::from_micros(500);
        let one_and_a_half = Duration::from_micros(1500);
        let mut mismatches = Vec::new();
        let mut check = |events: Vec<Recorded>, op: &str, field: &str, want: &str| {
            let success = events
                .iter()
                .find(|e| e.name == format!("igniter.store.{op}.success"))
                .unwrap_or_else(|| panic!("no {op}.success in {events:#?}"));
            if success.field(field) != Some(want) {
                mismatches.push(format!(
                    "{op}: {field} = {:?}, applied {want} ms",
                    success.field(field)
                ));
            }
        };

        ws.kv().set(key, &VALUE).ttl(sub_ms).await.unwrap();
        let set = rec.take();
        // What the store applied.
        assert_eq!(
            ws.kv().ttl(key).await.unwrap(),
            KeyTtl::Expires(Duration::from_millis(1))
        );
        rec.take();
        check(set, "kv.set", "kv.ttl", "1");

        assert!(ws.kv().expire(key, one_and_a_half).await.unwrap());
        check(rec.take(), "kv.expire", "kv.ttl", "2");
        assert_eq!(
            ws.kv().ttl(key).await.unwrap(),
            KeyTtl::Expires(Duration::from_millis(2))
        );
        rec.take();

        ws.counter()
            .increment(key)
            .ttl_on_create(sub_ms)
            .await
            .unwrap();
        check(rec.take(), "counter.increment", "counter.ttl", "1");

        ws.claim().once(key, &OWNER, one_and_a_half).await.unwrap();
        check(rec.take(), "claim.once", "claim.ttl", "2");
        mismatches
    });
    assert_nothing_identifying(&rec.all());
    assert!(
        mismatches.is_empty(),
        "TTL fields are not the applied TTLs:\n{}",
        mismatches.join("\n")
    );
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Signed {
    secret: String,
}

igniter_store::events! {
    pub audit {
        signed(Signed),
    }
}

/// `events.publish`, `events.subscribe` (plain and wildcard) and
/// `events.unsubscribe` (when a subscription is dropped), with their fields
/// and nothing identifying (the payload and the identifier hold `SECRET`).
#[test]
fn events_emit_publish_subscribe_unsubscribe() {
    let (rec, _guard) = install();
    runtime().block_on(async {
        let memory = MemoryAdapter::new();
        let org = new_store(&memory)
            .scope(Tenant::Organization, ORG_ID)
            .unwrap();
        let sub = org.events().subscribe(&audit::SIGNED).await.unwrap();
        assert_success(
            rec.take(),
            "events.subscribe",
            "events",
            ORG,
            &[
                ("events.channel", Some("audit:signed")),
                ("events.wildcard", Some("false")),
            ],
        );
        let all = org.events().subscribe_all::<audit::Event>().await.unwrap();
        assert_success(
            rec.take(),
            "events.subscribe",
            "events",
            ORG,
            &[
                ("events.channel", Some("audit")),
                ("events.wildcard", Some("true")),
            ],
        );
        let payload = Signed {
            secret: VALUE.into(),
        };
        org.events()
            .publish(&audit::SIGNED, &payload)
            .await
            .unwrap();
        assert_success(
            rec.take(),
            "events.publish",
            "events",
            ORG,
            &[
                ("events.channel", Some("audit:signed")),
                ("events.wildcard", Some("false")),
                ("events.receivers", Some("2")),
            ],
        );
        drop(sub);
        drop(all);
        let dropped = rec.take();
        assert_eq!(dropped.len(), 2, "{dropped:#?}");
        for event in &dropped {
            assert_eq!(event.name, "igniter.store.events.unsubscribe.success");
            assert_common(event, "events", ORG);
        }
        assert_eq!(dropped[1].field("events.wildcard"), Some("true"));
        let root = new_store(&memory).into_dynamic();
        let err = root
            .events()
            .publish(&audit::SIGNED, &payload)
            .await
            .unwrap_err();
        assert_error(
            rec.take(),
            "events.publish",
            "events",
            ROOT,
            "STORE_SCOPE_REQUIRED",
            &err,
        );
    });
    assert_nothing_identifying(&rec.all());
}

/// Stream operations emit `igniter.store.stream.<op>` events with the
/// TypeScript names (`stream.append`, `stream.range`, `stream.group`,
/// `stream.read`, `stream.ack`), and nothing identifying.
#[test]
fn streams_emit_their_events() {
    let (rec, _guard) = install();
    runtime().block_on(async {
        let memory = MemoryAdapter::new();
        let org = new_store(&memory)
            .scope(Tenant::Organization, ORG_ID)
            .unwrap();
        let st = org.streams();
        st.append("jobs", &VALUE).await.unwrap();
        assert_success(
            rec.take(),
            "stream.append",
            "streams",
            ORG,
            &[("stream.name", Some("jobs"))],
        );
        st.range::<String>("jobs").await.unwrap();
        assert_success(
            rec.take(),
            "stream.range",
            "streams",
            ORG,
            &[("stream.count", Some("1"))],
        );
        let group = st.group("g", "c");
        group.ensure("jobs").await.unwrap();
        assert_success(
            rec.take(),
            "stream.group",
            "streams",
            ORG,
            &[
                ("stream.group", Some("g")),
                ("stream.created", Some("true")),
            ],
        );
        let read = group.read::<String>("jobs").await.unwrap();
        assert_success(
            rec.take(),
            "stream.read",
            "streams",
            ORG,
            &[("stream.consumer", Some("c")), ("stream.count", Some("1"))],
        );
        group.ack("jobs", &[&read[0].id]).await.unwrap();
        assert_success(
            rec.take(),
            "stream.ack",
            "streams",
            ORG,
            &[("stream.count", Some("1"))],
        );
        let err = st
            .group("missing", "c")
            .read::<String>("jobs")
            .await
            .unwrap_err();
        assert_error(
            rec.take(),
            "stream.read",
            "streams",
            ORG,
            "STORE_STREAM_GROUP_NOT_FOUND",
            &err,
        );
    });
    assert_nothing_identifying(&rec.all());
}
