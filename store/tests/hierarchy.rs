//! The declared order of a `#[derive(StoreScopes)]` enum is the tenant
//! hierarchy, as properties.
//!
//! - `purge_reaches_everything_below_a_tenant_*` (on memory, and on the
//!   binary's own `redis-server`): several tenants, whose organization
//!   identifiers are adversarial (glob characters, separators, escapes,
//!   braces, empty-looking unicode, and identifiers that are prefixes of one
//!   another: `a`, `a:b`, `a*`), write through random valid chains under their
//!   organization, in every namespace (kv with and without TTL, counters,
//!   both kinds of claims, streams, batches). Purging one tenant's
//!   organization handle leaves nothing of it: every key written through it
//!   and below reads back absent, its scans are empty, and no key of its key
//!   space is left in the adapter. And it takes nothing of the others: every
//!   other value reads back, and every other key of the adapter is still
//!   there.
//! - `dynamic_chain_order_is_enforced_*`: random sequences of scope values,
//!   on two scope sets (a required scope first; a required scope after an
//!   optional one). The dynamic chain accepts exactly the sequences a model
//!   accepts (declaration order, each scope at most once, no required scope
//!   skipped) and refuses the others with `STORE_SCOPE_ORDER` or
//!   `STORE_SCOPE_REQUIRED`, at the link the model names and before any I/O;
//!   a chain that stops above a required scope has no data operation that
//!   runs. The typed chain (`tenant::Organization`, ...) in declaration order
//!   writes byte for byte the keys the dynamic one writes, and a chain
//!   started on the typed path and continued with values is checked the same.
//!
//! Chains are drawn by `support/chains.rs`. `PROPTEST_CASES` overrides the
//! case counts of the memory tests; the Redis one runs 16 cases (a few
//! seconds).

mod support;

#[path = "support/chains.rs"]
mod chains;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::TryStreamExt;
use igniter_store::adapter::{Backend, ScanCursor};
use igniter_store::claim::Claim;
use igniter_store::key::{escape_glob, escape_identifier};
use igniter_store::scope::{Dynamic, NextScope, ScopePosition};
use igniter_store::{
    ErrorCode, MemoryAdapter, RedisAdapter, Store, StoreResult, StoreScopes, batch::BatchEntry,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};

use chains::Chain;

#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

const TENANTS: [Tenant; 3] = [Tenant::Organization, Tenant::Workspace, Tenant::Team];

/// A set with a required scope after an optional one: a chain may stop
/// above it (`region`, `region → organization`).
#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Deep {
    #[scope(required)]
    Region,
    Organization,
    #[scope(required)]
    Project,
    #[scope(key = "env")]
    Environment,
    Team,
}

const DEEP: [Deep; 5] = [
    Deep::Region,
    Deep::Organization,
    Deep::Project,
    Deep::Environment,
    Deep::Team,
];

const TTL: Duration = Duration::from_secs(60);

fn service() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "hier{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `PROPTEST_CASES` or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` on `strategy` for `cases` cases, panicking with the minimal
/// failing input. The runner is driven by hand (one runtime per test), so
/// failures are not persisted: the minimal input is printed.
fn check<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ------------------------------------------------------------ identifiers

/// Organization identifiers: glob characters, separators, escapes, braces,
/// empty-looking unicode, namespace and scope words.
const ORG_IDS: &[&str] = &[
    ":",
    "*",
    "?",
    "[",
    "]",
    "\\",
    "%",
    "{",
    "}",
    "a",
    "a:b",
    "a*",
    "a?",
    "[a]",
    "[^a]",
    "%3A",
    "a%3Ab",
    "a\\*",
    "{a}",
    "*:*",
    " ",
    "\u{200b}",
    "\u{feff}",
    "\u{3000}",
    "\u{a0}",
    "\u{0}",
    "ws",
    "team",
    "organization",
    "a:ws:b",
    "a:kv:k",
    "kv",
];

/// What makes an identifier a longer one with the same start.
const SUFFIXES: &[&str] = &[
    ":b", "*", "?", ":", "%3Ab", "}", "\\", "[x]", ":ws:x", "%", " ", "\u{200b}",
];

fn org_id() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => select(ORG_IDS).prop_map(str::to_owned),
        1 => prop::collection::vec(select(ORG_IDS), 2..=3).prop_map(|parts| parts.concat()),
    ]
}

/// 2 to 6 distinct organizations, at least two of which are prefixes of one
/// another (`a`, `a:b`, `a*`).
fn org_ids() -> impl Strategy<Value = Vec<String>> {
    (
        org_id(),
        prop::collection::vec(select(SUFFIXES), 1..=3),
        prop::collection::vec(org_id(), 0..=2),
    )
        .prop_map(|(base, suffixes, others)| {
            let mut ids: BTreeSet<String> = others.into_iter().collect();
            ids.insert(base.clone());
            for suffix in suffixes {
                ids.insert(format!("{base}{suffix}"));
            }
            ids.into_iter().collect()
        })
}

/// Identifiers of the scopes under an organization: non-empty and
/// adversarial.
fn name() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(select(ORG_IDS), 1..=2).prop_map(|parts| parts.concat())
}

/// Keys and stream names: few, so that tenants write under the same names.
fn key_name() -> impl Strategy<Value = String> + Clone {
    select(&["k", "*", "a:b", "[a]", "\\", "{x}", "%3A", "ws:1:kv:k"][..]).prop_map(str::to_owned)
}

// ------------------------------------------------------------------ purge

/// One write, in one namespace.
#[derive(Debug, Clone, Copy)]
enum Op {
    Kv,
    KvTtl,
    Counter(i64),
    /// `claim().once`
    Once,
    /// `claim().acquire`
    Acquire,
    Stream,
    /// `batch().set` of that many entries
    Batch(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Kv),
        Just(Op::KvTtl),
        (1..1000i64).prop_map(Op::Counter),
        Just(Op::Once),
        Just(Op::Acquire),
        Just(Op::Stream),
        (1..=3usize).prop_map(Op::Batch),
    ]
}

/// What one tenant writes: chains under its organization (the organization
/// link's identifier is the tenant's), each with writes `(op, key)`.
type TenantWrites = Vec<(Chain<Tenant>, Vec<(Op, String)>)>;

#[derive(Debug, Clone)]
struct PurgeCase {
    /// Organization identifiers, distinct.
    orgs: Vec<String>,
    /// What each organization writes.
    writes: Vec<TenantWrites>,
    /// The organization purged.
    victim: usize,
}

fn tenant_writes() -> impl Strategy<Value = TenantWrites> {
    prop::collection::vec(
        (
            chains::valid_chain(&TENANTS, 1..=3, name()),
            prop::collection::vec((op(), key_name()), 1..=4),
        ),
        1..=3,
    )
}

fn purge_case() -> impl Strategy<Value = PurgeCase> {
    org_ids()
        .prop_flat_map(|orgs| {
            let n = orgs.len();
            (
                Just(orgs),
                prop::collection::vec(tenant_writes(), n),
                any::<Index>(),
            )
        })
        .prop_map(|(orgs, mut writes, victim)| {
            // Every chain starts with its tenant's organization.
            for (org, tenant) in orgs.iter().zip(&mut writes) {
                for (chain, _) in tenant.iter_mut() {
                    assert_eq!(chain[0].0, Tenant::Organization, "required first");
                    chain[0].1 = org.clone();
                }
            }
            let victim = victim.index(orgs.len());
            PurgeCase {
                orgs,
                writes,
                victim,
            }
        })
}

/// What was written, to read back.
struct Written {
    chain: Chain<Tenant>,
    op: Op,
    /// The key, or the keys of a batch.
    keys: Vec<String>,
    value: u64,
    claim: Option<Claim>,
}

/// Every key of the service, from the adapter (every namespace), sorted.
async fn raw_keys(store: &Store<Tenant>) -> StoreResult<BTreeSet<String>> {
    let pattern = format!("igniter:store:{}:*", escape_glob(store.service()));
    let mut cursor = ScanCursor::start();
    let mut keys = BTreeSet::new();
    loop {
        let page = store.adapter().scan(&cursor, &pattern, 1000).await?;
        keys.extend(
            page.keys
                .iter()
                .map(|k| String::from_utf8(k.to_vec()).expect("the store writes UTF-8 keys")),
        );
        if page.cursor.is_done() {
            return Ok(keys);
        }
        cursor = page.cursor;
    }
}

/// The start of every key of organization `org`, as the key layout has it
/// (the test's own model: identifiers are escaped, so no other
/// organization's keys start with it).
fn org_prefix(store: &Store<Tenant>, org: &str) -> String {
    format!(
        "igniter:store:{}:organization:{}:",
        store.service(),
        escape_identifier(org)
    )
}

async fn write(
    h: &Store<Dynamic<Tenant>>,
    chain: &Chain<Tenant>,
    op: Op,
    key: String,
    value: u64,
) -> Result<Written, TestCaseError> {
    let mut written = Written {
        chain: chain.clone(),
        op,
        keys: vec![key.clone()],
        value,
        claim: None,
    };
    match op {
        Op::Kv => h.kv().set(&key, &value).await?,
        Op::KvTtl => h.kv().set(&key, &value).ttl(TTL).await?,
        Op::Counter(delta) => {
            let n = h
                .counter()
                .increment_by(&key, delta)
                .ttl_on_create(TTL)
                .await?;
            prop_assert_eq!(n, delta);
        }
        Op::Once => prop_assert!(h.claim().once(&key, &"owner", TTL).await?),
        Op::Acquire => {
            let claim = h.claim().acquire(&key, TTL).await?;
            prop_assert!(claim.is_some(), "a fresh claim is free");
            written.claim = claim;
        }
        Op::Stream => {
            h.streams().append(key.as_str(), &value).await?;
        }
        Op::Batch(n) => {
            written.keys = (0..n).map(|e| format!("{key}.{e}")).collect();
            h.batch()
                .set(
                    written
                        .keys
                        .iter()
                        .map(|k| BatchEntry::new(k.as_str(), &value)),
                )
                .await?;
        }
    }
    Ok(written)
}

/// Checks that `w` reads back (`alive`) or is gone, through the public API.
/// The claim checks take a gone claim again.
async fn read_back(h: &Store<Dynamic<Tenant>>, w: &Written, alive: bool) -> TestCaseResult {
    let key = &w.keys[0];
    let what = if alive { "kept" } else { "purged" };
    match w.op {
        Op::Kv | Op::KvTtl => {
            let got = h.kv().get::<u64>(key).await?;
            prop_assert_eq!(got, alive.then_some(w.value), "kv {:?} {}", key, what);
            prop_assert_eq!(h.kv().exists(key).await?, alive);
        }
        Op::Counter(delta) => {
            let got = h.counter().get(key).await?;
            prop_assert_eq!(got, if alive { delta } else { 0 }, "counter {}", what);
        }
        Op::Once => {
            // a claim still held cannot be taken; a purged one can
            let taken = h.claim().once(key, &"another owner", TTL).await?;
            prop_assert_eq!(taken, !alive, "claim.once {:?} {}", key, what);
        }
        Op::Acquire => {
            let claim = w.claim.as_ref().expect("acquired");
            prop_assert_eq!(claim.extend(TTL).await?, alive, "claim {:?} {}", key, what);
        }
        Op::Stream => {
            let entries = h.streams().range::<u64>(key.as_str()).await?;
            let values: Vec<u64> = entries
                .into_iter()
                .map(|e| e.data)
                .collect::<StoreResult<_>>()?;
            let expected = if alive { vec![w.value] } else { vec![] };
            prop_assert_eq!(values, expected, "stream {:?} {}", key, what);
        }
        Op::Batch(_) => {
            let got: Vec<Option<u64>> = h.batch().get(&w.keys).await?;
            let expected = vec![alive.then_some(w.value); w.keys.len()];
            prop_assert_eq!(got, expected, "batch {:?} {}", &w.keys, what);
        }
    }
    Ok(())
}

async fn purge_reaches_everything(backend: Backend, case: PurgeCase) -> TestCaseResult {
    let store: Store<Tenant> = Store::builder()
        .shared_adapter(backend)
        .service(service())
        .scopes::<Tenant>()
        .build()?;

    // Write. Keys are unique within a tenant (`<name>#<n>`, n counting its
    // writes) and often the same across tenants (few names).
    let mut written: Vec<Vec<Written>> = Vec::new();
    let mut value = 0u64;
    for tenant in &case.writes {
        let mut mine = Vec::new();
        let mut n = 0;
        for (chain, ops) in tenant {
            let h = chains::scoped(&store, chain)?;
            for (op, name) in ops {
                value += 1;
                mine.push(write(&h, chain, *op, format!("{name}#{n}"), value).await?);
                n += 1;
            }
        }
        written.push(mine);
    }
    let before = raw_keys(&store).await?;
    let victim_prefix = org_prefix(&store, &case.orgs[case.victim]);
    prop_assert!(
        before.iter().any(|k| k.starts_with(&victim_prefix)),
        "the layout model: the victim's keys start with {:?}: {:?}",
        victim_prefix,
        before
    );
    for (org, mine) in case.orgs.iter().zip(&written) {
        for w in mine {
            let h = chains::scoped(&store, &w.chain)?;
            let full = h.kv().key(&w.keys[0])?;
            prop_assert!(full.starts_with(&org_prefix(&store, org)), "{:?}", full);
        }
    }

    // Purge the victim, through its organization's handle (the typed path).
    let victim = store.scope(tenant::Organization, &case.orgs[case.victim])?;
    let purged = victim.purge().await?;

    // Nothing of it is left, and nothing else is gone: the adapter's keys
    // are the others' exactly.
    let after = raw_keys(&store).await?;
    let expected: BTreeSet<String> = before
        .iter()
        .filter(|k| !k.starts_with(&victim_prefix))
        .cloned()
        .collect();
    prop_assert_eq!(&after, &expected, "the keys left after the purge");
    prop_assert_eq!(purged, (before.len() - after.len()) as u64, "purge's count");
    let scanned: Vec<String> = victim.dev().scan_all("*").try_collect().await?;
    prop_assert!(scanned.is_empty(), "the victim's scan: {:?}", scanned);

    // Through the API: the others' data reads back, the victim's is gone.
    for (t, mine) in written.iter().enumerate() {
        for w in mine {
            let h = chains::scoped(&store, &w.chain)?;
            if t == case.victim {
                let scanned: Vec<String> = h.dev().scan_all("*").try_collect().await?;
                prop_assert!(scanned.is_empty(), "a purged chain's scan: {:?}", scanned);
            }
            read_back(&h, w, t != case.victim).await?;
        }
    }
    Ok(())
}

#[test]
fn purge_reaches_everything_below_a_tenant_on_memory() {
    let rt = runtime();
    check(cases(256), purge_case(), |case| {
        rt.block_on(purge_reaches_everything(
            Backend::new(MemoryAdapter::new()),
            case,
        ))
    });
}

#[test]
fn purge_reaches_everything_below_a_tenant_on_redis() {
    if support::skip_redis() {
        return;
    }
    let rt = runtime();
    let backend = rt.block_on(async {
        Backend::new(
            RedisAdapter::connect(&support::shared().url())
                .await
                .expect("the binary's redis-server"),
        )
    });
    check(16, purge_case(), |case| {
        rt.block_on(purge_reaches_everything(backend.clone(), case))
    });
}

// ------------------------------------------------------------- chain order

/// An identifier of a link: adversarial, and now and then empty (refused
/// with `STORE_SCOPE_IDENTIFIER_REQUIRED`, after the order checks).
fn link_id() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        9 => name(),
        1 => Just(String::new()),
    ]
}

/// Sequences of scope values: drawn freely, valid chains, valid chains cut
/// above a required scope, and valid chains with one link added anywhere.
fn sequence<T>(all: &'static [T]) -> impl Strategy<Value = Chain<T>>
where
    T: StoreScopes + Copy + std::fmt::Debug,
{
    let n = all.len();
    let link = (select(all), link_id());
    prop_oneof![
        prop::collection::vec(link.clone(), 0..=n + 1),
        chains::valid_chain(all, 0..=n, link_id()),
        (chains::valid_chain(all, 0..=n, link_id()), any::<Index>()).prop_map(|(c, cut)| {
            let keep = cut.index(c.len() + 1);
            c[..keep].to_vec()
        }),
        (
            chains::valid_chain(all, 0..=n, link_id()),
            any::<Index>(),
            link
        )
            .prop_map(|(mut c, at, extra)| {
                let at = at.index(c.len() + 1);
                c.insert(at, extra);
                c
            }),
    ]
}

/// The model's outcome for a sequence: the first link refused and its code,
/// or `None`. The order checks come first, then the identifier.
fn expected_refusal<T: StoreScopes + Copy>(seq: &Chain<T>) -> Option<(usize, ErrorCode)> {
    let order = chains::refusal(&chains::scopes_of(seq));
    let empty = seq.iter().position(|(_, id)| id.is_empty());
    let empty = empty.map(|e| (e, ErrorCode::ScopeIdentifierRequired));
    match (order, empty) {
        (Some(refused), Some(empty)) => Some(if empty.0 < refused.0 { empty } else { refused }),
        (refused, empty) => refused.or(empty),
    }
}

/// The key `kv().key("k")` of a chain, as the layout has it (the test's own
/// model).
fn layout_key<T: StoreScopes>(service: &str, chain: &Chain<T>) -> String {
    let mut key = format!("igniter:store:{service}");
    for (scope, id) in chain {
        key.push(':');
        key.push_str(scope.def().key());
        key.push(':');
        key.push_str(&escape_identifier(id));
    }
    key.push_str(":kv:k");
    key
}

/// Builds `seq` link by link on `start` (already holding the first `done`
/// links of it) and checks every step against the model; on acceptance, the
/// handle's key (or its `STORE_SCOPE_REQUIRED`, before any I/O). Returns the
/// key when the chain is accepted and holds every required scope.
async fn run_sequence<P, T>(
    start: Store<P>,
    done: usize,
    seq: &Chain<T>,
    memory: &MemoryAdapter,
) -> Result<Option<String>, TestCaseError>
where
    P: ScopePosition<Scopes = T>,
    T: StoreScopes + NextScope<Dynamic<T>, Next = Dynamic<T>> + Copy + std::fmt::Debug,
{
    let expected = expected_refusal(seq);
    let mut handle = start.into_dynamic();
    for (i, (scope, id)) in seq.iter().enumerate().skip(done) {
        match (handle.scope(*scope, id), expected) {
            (Ok(next), None) => handle = next,
            (Ok(next), Some((at, _))) if i < at => handle = next,
            (Err(e), Some((at, code))) if i == at => {
                prop_assert_eq!(e.code(), code, "{:?} at link {}: {}", seq, i, e);
                let details = e.details().expect("details");
                prop_assert_eq!(
                    details["scopeKey"].as_str(),
                    Some(scope.def().key()),
                    "{}",
                    e
                );
                prop_assert_eq!(memory.len(), 0, "nothing was written");
                return Ok(None);
            }
            (got, expected) => {
                return Err(TestCaseError::fail(format!(
                    "{seq:?}: link {i} gave {:?}, the model expects {expected:?}",
                    got.map(|h| h.scope_keys())
                )));
            }
        }
    }
    prop_assert!(expected.is_none());
    let keys: Vec<&str> = seq.iter().map(|(s, _)| s.def().key()).collect();
    prop_assert_eq!(handle.scope_keys(), keys);
    let scopes = chains::scopes_of(seq);
    if chains::lacks_required(&scopes) {
        // It stops above a required scope: refused by every operation,
        // before any I/O.
        let e = handle.kv().key("k").unwrap_err();
        prop_assert_eq!(e.code(), ErrorCode::ScopeRequired);
        let e = handle.kv().set("k", &1).await.unwrap_err();
        prop_assert_eq!(e.code(), ErrorCode::ScopeRequired);
        let e = handle.purge().await.unwrap_err();
        prop_assert_eq!(e.code(), ErrorCode::ScopeRequired);
        prop_assert_eq!(memory.len(), 0, "nothing was written");
        return Ok(None);
    }
    let key = handle.kv().key("k")?;
    prop_assert_eq!(&key, &layout_key(handle.service(), seq));
    Ok(Some(key))
}

/// The typed path of every valid chain of a set, listed by hand (a chain out
/// of order does not compile: `ui-tests`): `kv().key("k")` of the typed
/// chain with `chain`'s identifiers, or `None` if `chain`'s scopes are not
/// listed.
macro_rules! typed_key {
    ($root:expr, $chain:expr, $set:ident, $module:ident; $([$($marker:ident),+]),+ $(,)?) => {{
        let root = $root;
        let chain = $chain;
        let scopes = chains::scopes_of(chain);
        let ids: Vec<&str> = chain.iter().map(|(_, id)| id.as_str()).collect();
        let mut out: Option<StoreResult<String>> = None;
        $(
            if out.is_none() && scopes[..] == [$($set::$marker),+] {
                let build = || -> StoreResult<String> {
                    let mut ids = ids.iter();
                    let handle = root.clone();
                    $(
                        let handle = handle.scope($module::$marker, ids.next().expect("an id"))?;
                    )+
                    handle.kv().key("k")
                };
                out = Some(build());
            }
        )+
        out
    }};
}

fn typed_tenant_key(root: &Store<Tenant>, chain: &Chain<Tenant>) -> Option<StoreResult<String>> {
    typed_key!(root, chain, Tenant, tenant;
        [Organization],
        [Organization, Workspace],
        [Organization, Team],
        [Organization, Workspace, Team],
    )
}

fn typed_deep_key(root: &Store<Deep>, chain: &Chain<Deep>) -> Option<StoreResult<String>> {
    typed_key!(root, chain, Deep, deep;
        [Region, Project],
        [Region, Project, Environment],
        [Region, Project, Team],
        [Region, Project, Environment, Team],
        [Region, Organization, Project],
        [Region, Organization, Project, Environment],
        [Region, Organization, Project, Team],
        [Region, Organization, Project, Environment, Team],
    )
}

/// The typed path continued with scope values: the first link typed, the
/// rest values.
fn typed_first_tenant(root: &Store<Tenant>, id: &str) -> StoreResult<Store<tenant::Organization>> {
    root.scope(tenant::Organization, id)
}

fn typed_first_deep(root: &Store<Deep>, id: &str) -> StoreResult<Store<deep::Region>> {
    root.scope(deep::Region, id)
}

fn new_store<T>(memory: &MemoryAdapter) -> Store<T>
where
    T: StoreScopes + ScopePosition<Scopes = T>,
{
    Store::builder()
        .adapter(memory.clone())
        .service("svc")
        .scopes::<T>()
        .build()
        .expect("a valid store")
}

/// One case on a set: the dynamic chain against the model, the typed chain
/// against the dynamic one, and the typed first link continued by values.
async fn order_case<T, F>(
    seq: Chain<T>,
    typed_key: impl Fn(&Store<T>, &Chain<T>) -> Option<StoreResult<String>>,
    typed_first: impl Fn(&Store<T>, &str) -> StoreResult<Store<F>>,
) -> TestCaseResult
where
    T: StoreScopes
        + ScopePosition<Scopes = T>
        + NextScope<Dynamic<T>, Next = Dynamic<T>>
        + Copy
        + PartialEq
        + std::fmt::Debug,
    F: ScopePosition<Scopes = T>,
{
    let memory = MemoryAdapter::new();
    let root: Store<T> = new_store(&memory);
    let dynamic = run_sequence(root.clone(), 0, &seq, &memory).await?;

    // The typed chain, where the scopes are a valid chain (and a typed path
    // exists for each of those).
    let scopes = chains::scopes_of(&seq);
    let ids_given = seq.iter().all(|(_, id)| !id.is_empty());
    match typed_key(&root, &seq) {
        Some(typed) => {
            prop_assert!(
                chains::is_valid(&scopes),
                "a typed path is listed only for valid chains"
            );
            if ids_given {
                prop_assert_eq!(&Some(typed?), &dynamic, "typed and dynamic keys");
            } else {
                let e = typed.expect_err("an empty identifier");
                prop_assert_eq!(e.code(), ErrorCode::ScopeIdentifierRequired);
                prop_assert_eq!(&dynamic, &None);
            }
        }
        None => prop_assert!(
            !chains::is_valid(&scopes),
            "{:?} has no typed path listed",
            scopes
        ),
    }

    // The typed first link, then values: the same outcome.
    if let Some((first, id)) = seq.first()
        && first.index() == 0
        && !id.is_empty()
    {
        let typed = typed_first(&root, id)?;
        let mixed = run_sequence(typed, 1, &seq, &memory).await?;
        prop_assert_eq!(mixed, dynamic, "typed first link, then values");
    }
    prop_assert_eq!(memory.len(), 0, "nothing was written");
    Ok(())
}

#[test]
fn dynamic_chain_order_is_enforced_with_a_required_root() {
    // The typed list is complete: every valid chain has its typed path.
    let memory = MemoryAdapter::new();
    let root: Store<Tenant> = new_store(&memory);
    for scopes in chains::valid_scope_lists(&TENANTS, 0..=TENANTS.len()) {
        let chain: Chain<Tenant> = scopes.into_iter().map(|s| (s, "x".to_owned())).collect();
        assert!(typed_tenant_key(&root, &chain).is_some(), "{chain:?}");
    }
    let rt = runtime();
    check(cases(2048), sequence(&TENANTS), |seq| {
        rt.block_on(order_case(seq, typed_tenant_key, typed_first_tenant))
    });
}

#[test]
fn dynamic_chain_order_is_enforced_with_a_required_scope_below_an_optional_one() {
    let memory = MemoryAdapter::new();
    let root: Store<Deep> = new_store(&memory);
    for scopes in chains::valid_scope_lists(&DEEP, 0..=DEEP.len()) {
        let chain: Chain<Deep> = scopes.into_iter().map(|s| (s, "x".to_owned())).collect();
        assert!(typed_deep_key(&root, &chain).is_some(), "{chain:?}");
    }
    let rt = runtime();
    check(cases(2048), sequence(&DEEP), |seq| {
        rt.block_on(order_case(seq, typed_deep_key, typed_first_deep))
    });
}
