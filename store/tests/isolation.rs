//! Tenant isolation, as properties.
//!
//! Isolation is a security property of the store: whatever is written through
//! one scope chain must be invisible, untouchable and undeletable through any
//! other chain that is not its ancestor. These tests draw pairs of distinct
//! chains and keys from adversarial generators (separators, percent escapes,
//! glob characters, braces, namespace and scope words, unicode) and check,
//! through the public API only, that:
//!
//! - writes through chain A (kv, batch, counters, both kinds of claims) are
//!   read back by A (the positive control, so the property can fail);
//! - chain B sees none of it: kv and batch reads are `None`, `exists` is
//!   false, counters read 0, B can take the same claims, B's scan is empty;
//! - B's purge, unless B is an ancestor of A, leaves all of A's data intact;
//!   when B is an ancestor it deletes A's data, by design;
//! - distinct (chain, namespace, key) triples never map to the same full key.
//!
//! Pairs are not only drawn independently: most are built from one another
//! (ancestor and descendant, siblings, the same identifiers under other
//! scopes, an identifier that spells out another chain, a key that spells
//! out another chain), since those are where a forged key would come from.
//! Every chain is valid (scopes in declaration order, each at most once):
//! `support/chains.rs` draws them, and `hierarchy.rs` checks that the others
//! are refused before any I/O.

#[path = "support/chains.rs"]
mod chains;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use igniter_store::adapter::KeyTtl;
use igniter_store::{
    ErrorCode, MemoryAdapter, Store, StoreScopes, batch::BatchEntry, claim::Claim, key::Namespace,
    scope::Dynamic,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};

#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Tenant {
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

const TENANTS: [Tenant; 3] = [Tenant::Organization, Tenant::Workspace, Tenant::Team];

fn scope_key(t: Tenant) -> &'static str {
    t.def().key()
}

/// A scope chain as data: `(scope, identifier)` links, outermost first.
type Chain = chains::Chain<Tenant>;

/// Pieces of adversarial identifiers and keys.
const FRAGMENTS: &[&str] = &[
    ":",
    "%",
    "%3A",
    "%25",
    "%7B",
    "*",
    "?",
    "[",
    "]",
    "[a-z]",
    "[^a]",
    "\\",
    "{",
    "}",
    "{x}",
    "kv",
    "a:kv:x",
    "counter",
    "claim",
    "fence",
    "streams",
    "organization",
    "ws",
    "team",
    "igniter:store",
    "svc",
    "ü",
    "日本",
    "",
    " ",
    "-",
    "a",
    "b",
];

const TTL: Duration = Duration::from_secs(60);

/// 1 to 4 fragments, concatenated; may be empty.
fn fragments() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(select(FRAGMENTS), 1..=4).prop_map(|parts| parts.concat())
}

/// A non-empty adversarial string (`scope()` refuses empty identifiers and
/// every operation refuses empty keys; both are tested separately).
fn non_empty() -> impl Strategy<Value = String> + Clone {
    fragments().prop_filter("empty identifiers and keys are refused", |s| !s.is_empty())
}

/// A valid chain of `links` links.
fn chain_of(links: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Chain> + Clone {
    chains::valid_chain(&TENANTS, links, non_empty())
}

/// A valid chain of 1 to 3 links.
fn chain() -> impl Strategy<Value = Chain> + Clone {
    chain_of(1..=3)
}

/// A link that may come after `chain` (`None` when no scope may: the chain
/// ends with the last scope).
fn next_link(chain: &Chain, pick: Index, id: String) -> Option<(Tenant, String)> {
    let follow = chains::may_follow(&TENANTS, &chains::scopes_of(chain));
    (!follow.is_empty()).then(|| (*pick.get(&follow), id))
}

/// A chain and one of its proper ancestors (at least one link).
fn with_ancestor() -> impl Strategy<Value = (Chain, Chain)> {
    (chain_of(2..=3), any::<Index>()).prop_map(|(descendant, cut)| {
        let ancestor = descendant[..1 + cut.index(descendant.len() - 1)].to_vec();
        (descendant, ancestor)
    })
}

/// Two chains, often related to each other; possibly equal.
fn chain_pair() -> impl Strategy<Value = (Chain, Chain)> {
    prop_oneof![
        // independent
        (chain(), chain()),
        // B a descendant of A
        with_ancestor().prop_map(|(b, a)| (a, b)),
        // B an ancestor of A
        with_ancestor(),
        // siblings: same parent, another last link (a scope that may follow
        // the parent)
        (chain(), any::<Index>(), non_empty()).prop_map(|(a, pick, id)| {
            let parent: Chain = a[..a.len() - 1].to_vec();
            let mut b = parent.clone();
            b.extend(next_link(&parent, pick, id));
            (a, b)
        }),
        // the same identifiers under other scopes, in declaration order
        (chain(), any::<Index>()).prop_map(|(a, pick)| {
            let b = chains::other_scopes(&TENANTS, &chains::scopes_of(&a), pick)
                .into_iter()
                .zip(a.iter().map(|(_, id)| id.clone()))
                .collect();
            (a, b)
        }),
        // the last identifier with a fragment added
        (chain(), select(FRAGMENTS)).prop_map(|(a, extra)| {
            let mut b = a.clone();
            b.last_mut().expect("chains have a link").1.push_str(extra);
            (a, b)
        }),
        // one identifier spelling out a whole chain: `x:ws:y` against x, then ws y
        chain_of(2..=3).prop_map(|a| {
            let mut forged = a[0].1.clone();
            for (t, id) in &a[1..] {
                forged.push(':');
                forged.push_str(scope_key(*t));
                forged.push(':');
                forged.push_str(id);
            }
            (a.clone(), vec![(a[0].0, forged)])
        }),
    ]
}

/// Two distinct chains (in either role).
fn distinct_chains() -> impl Strategy<Value = (Chain, Chain)> {
    chain_pair().prop_filter("the chains must differ", |(a, b)| a != b)
}

/// Whether `ancestor` is a proper prefix of `chain`.
fn is_ancestor(ancestor: &Chain, chain: &Chain) -> bool {
    ancestor.len() < chain.len() && chain.starts_with(ancestor)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

fn config() -> Config {
    Config {
        // PROPTEST_CASES overrides, for a longer run.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1024),
        // The runner is driven by hand (one runtime per test function), so it
        // has no source file to persist regressions next to; a failure prints
        // its minimal input instead.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` on `strategy` with `config()`, panicking with the minimal
/// failing input.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

fn new_store() -> (MemoryAdapter, Store<Tenant>) {
    let memory = MemoryAdapter::new();
    let store = Store::builder()
        .adapter(memory.clone())
        .service("svc")
        .scopes::<Tenant>()
        .build()
        .expect("a valid store");
    (memory, store)
}

/// A handle on a chain: one scope value after the other (the dynamic path).
type Handle = Store<Dynamic<Tenant>>;

fn scoped(store: &Store<Tenant>, chain: &Chain) -> Result<Handle, TestCaseError> {
    Ok(chains::scoped(store, chain)?)
}

#[derive(Debug, Clone)]
struct IsolationCase {
    a: Chain,
    b: Chain,
    /// Keys of kv entries, counters and claims.
    keys: Vec<String>,
    /// Keys of the batch (may overlap `keys`: the batch then overwrites).
    batch_keys: Vec<String>,
    delta: i64,
}

fn isolation_case() -> impl Strategy<Value = IsolationCase> {
    (
        distinct_chains(),
        prop::collection::btree_set(non_empty(), 1..=4),
        prop::collection::btree_set(non_empty(), 1..=3),
        1..1000i64,
    )
        .prop_map(|((a, b), keys, batch_keys, delta)| IsolationCase {
            a,
            b,
            keys: keys.into_iter().collect(),
            batch_keys: batch_keys.into_iter().collect(),
            delta,
        })
}

/// What chain A wrote.
struct Written {
    /// kv key -> value, kv and batch together.
    kv: BTreeMap<String, String>,
    claims: Vec<Claim>,
}

async fn write_through_a(a: &Handle, case: &IsolationCase) -> Result<Written, TestCaseError> {
    let mut kv = BTreeMap::new();
    for (i, key) in case.keys.iter().enumerate() {
        let value = format!("kv-{i}");
        if i % 2 == 0 {
            a.kv().set(key, &value).await?;
        } else {
            a.kv().set(key, &value).ttl(TTL).await?;
        }
        kv.insert(key.clone(), value);
    }

    let batch_values: Vec<String> = (0..case.batch_keys.len())
        .map(|i| format!("batch-{i}"))
        .collect();
    a.batch()
        .set(
            case.batch_keys
                .iter()
                .zip(&batch_values)
                .enumerate()
                .map(|(i, (k, v))| {
                    let entry = BatchEntry::new(k.as_str(), v);
                    if i % 2 == 0 { entry } else { entry.ttl(TTL) }
                }),
        )
        .await?;
    for (k, v) in case.batch_keys.iter().zip(batch_values) {
        kv.insert(k.clone(), v);
    }

    let mut claims = Vec::new();
    for key in &case.keys {
        prop_assert_eq!(
            a.counter()
                .increment_by(key, case.delta)
                .ttl_on_create(TTL)
                .await?,
            case.delta
        );
        prop_assert_eq!(a.counter().increment(key).await?, case.delta + 1);
        prop_assert!(
            a.claim().once(key, &"owner-a", TTL).await?,
            "A's first claim.once"
        );
        let claim = a.claim().acquire(&acquired_key(key), TTL).await?;
        claims.push(claim.ok_or_else(|| TestCaseError::fail("A's first claim.acquire failed"))?);
    }
    Ok(Written { kv, claims })
}

/// The key of the claim A acquires for `key` (`once` takes `key` itself, and
/// both forms share the `claim` namespace). Fragments hold no `/`, so it is
/// never another generated key.
fn acquired_key(key: &str) -> String {
    format!("{key}/acquired")
}

/// Every kv key `store`'s scan of `pattern` yields, sorted.
async fn scan_everything(store: &Handle, pattern: &str) -> Result<Vec<String>, TestCaseError> {
    let mut keys: Vec<String> = store.dev().scan_all(pattern).try_collect().await?;
    keys.sort();
    Ok(keys)
}

/// The positive control: A reads back all it wrote, and still holds its claims.
async fn assert_a_intact(
    a: &Handle,
    case: &IsolationCase,
    written: &Written,
    when: &str,
) -> TestCaseResult {
    for (key, value) in &written.kv {
        let read = a.kv().get::<String>(key).await?;
        prop_assert_eq!(read.as_ref(), Some(value), "A's kv {:?} {}", key, when);
        prop_assert!(
            a.kv().exists(key).await?,
            "A's kv {:?} exists {}",
            key,
            when
        );
    }
    let keys: Vec<&String> = written.kv.keys().collect();
    let values: Vec<Option<String>> = a.batch().get(&keys).await?;
    prop_assert_eq!(
        values,
        written.kv.values().cloned().map(Some).collect::<Vec<_>>(),
        "A's batch get {}",
        when
    );
    prop_assert_eq!(
        scan_everything(a, "*").await?,
        written.kv.keys().cloned().collect::<Vec<_>>(),
        "A's scan {}",
        when
    );
    for (key, claim) in case.keys.iter().zip(&written.claims) {
        prop_assert_eq!(
            a.counter().get(key).await?,
            case.delta + 1,
            "A's counter {:?} {}",
            key,
            when
        );
        prop_assert!(
            !a.claim().once(key, &"owner-a2", TTL).await?,
            "A's claim.once {:?} still held {}",
            key,
            when
        );
        prop_assert!(
            a.claim().acquire(&acquired_key(key), TTL).await?.is_none(),
            "A's acquired claim {:?} still held {}",
            key,
            when
        );
        prop_assert!(
            claim.extend(TTL).await?,
            "A still holds its acquired claim {:?} {}",
            key,
            when
        );
    }
    Ok(())
}

async fn isolation(case: IsolationCase) -> TestCaseResult {
    let (memory, store) = new_store();
    let a = scoped(&store, &case.a)?;
    let b = scoped(&store, &case.b)?;

    let written = write_through_a(&a, &case).await?;
    assert_a_intact(&a, &case, &written, "after writing").await?;

    // B sees none of it.
    let all_keys: Vec<&String> = written.kv.keys().chain(&case.keys).collect();
    for key in &all_keys {
        prop_assert_eq!(
            b.kv().get::<String>(key).await?,
            None,
            "B's kv get {:?}",
            key
        );
        prop_assert!(!b.kv().exists(key).await?, "B's kv exists {:?}", key);
        prop_assert_eq!(
            b.kv().ttl(key).await?,
            KeyTtl::Missing,
            "B's kv ttl {:?}",
            key
        );
        prop_assert!(!b.kv().remove(key).await?, "B's kv remove {:?}", key);
        prop_assert!(!b.kv().persist(key).await?, "B's kv persist {:?}", key);
        prop_assert!(!b.kv().expire(key, TTL).await?, "B's kv expire {:?}", key);
    }
    let values: Vec<Option<String>> = b.batch().get(&all_keys).await?;
    prop_assert!(
        values.iter().all(Option::is_none),
        "B's batch get saw {:?}",
        values
    );
    // B never wrote a kv entry, so any key its scan sees is a leak.
    prop_assert_eq!(
        scan_everything(&b, "*").await?,
        Vec::<String>::new(),
        "B's scan of *"
    );
    for key in written.kv.keys() {
        // A's key as a pattern (it holds glob characters of its own).
        prop_assert_eq!(
            scan_everything(&b, key).await?,
            Vec::<String>::new(),
            "B's scan of {:?}",
            key
        );
    }
    for key in &case.keys {
        prop_assert_eq!(b.counter().get(key).await?, 0, "B's counter {:?}", key);
        prop_assert!(
            !b.counter().remove(key).await?,
            "B's counter remove {:?}",
            key
        );
        prop_assert!(
            !b.claim().release(key, &"owner-a").await?,
            "B released A's claim {:?}",
            key
        );
        prop_assert!(
            b.claim().once(key, &"owner-b", TTL).await?,
            "B's claim.once {:?}",
            key
        );
        prop_assert!(
            b.claim().acquire(&acquired_key(key), TTL).await?.is_some(),
            "B's claim.acquire {:?}",
            acquired_key(key)
        );
    }
    assert_a_intact(&a, &case, &written, "after B's reads and claims").await?;

    // B's purge.
    let before = memory.len();
    let purged = b.purge().await?;
    prop_assert_eq!(
        before - memory.len(),
        usize::try_from(purged).unwrap_or(usize::MAX),
        "purge's count"
    );
    if is_ancestor(&case.b, &case.a) {
        // By design: a parent's purge deletes its children's data.
        for key in written.kv.keys() {
            prop_assert_eq!(
                a.kv().get::<String>(key).await?,
                None,
                "A's kv {:?} after its ancestor's purge",
                key
            );
        }
        prop_assert_eq!(scan_everything(&a, "*").await?, Vec::<String>::new());
        for (key, claim) in case.keys.iter().zip(&written.claims) {
            prop_assert_eq!(a.counter().get(key).await?, 0);
            prop_assert!(
                !claim.extend(TTL).await?,
                "A's claim {:?} after its ancestor's purge",
                key
            );
        }
    } else {
        assert_a_intact(&a, &case, &written, "after B's purge").await?;
    }
    Ok(())
}

/// Writes through one chain are invisible, untouchable and (unless through an
/// ancestor) unpurgeable through any other chain.
#[test]
fn writes_through_one_chain_are_invisible_through_another() {
    let rt = runtime();
    check(isolation_case(), |case| rt.block_on(isolation(case)));
}

/// Two chains, each with a key and a namespace.
#[derive(Debug, Clone)]
struct KeyCase {
    a: Chain,
    b: Chain,
    ns_a: Namespace,
    ns_b: Namespace,
    key_a: String,
    key_b: String,
}

fn namespace() -> impl Strategy<Value = Namespace> {
    select(vec![Namespace::Kv, Namespace::Counter, Namespace::Claim])
}

fn key_case() -> impl Strategy<Value = KeyCase> {
    let pairs = prop_oneof![chain_pair(), chain().prop_map(|c| (c.clone(), c)),];
    let keys = prop_oneof![
        (non_empty(), non_empty()),
        non_empty().prop_map(|k| (k.clone(), k)),
        (non_empty(), select(FRAGMENTS)).prop_map(|(k, extra)| (k.clone(), format!("{k}{extra}"))),
        (non_empty(), select(FRAGMENTS)).prop_map(|(k, extra)| (k.clone(), format!("{extra}{k}"))),
    ];
    (pairs, keys, namespace(), namespace()).prop_map(|((a, b), (key_a, key_b), ns_a, ns_b)| {
        KeyCase {
            a,
            b,
            ns_a,
            ns_b,
            key_a,
            key_b,
        }
    })
}

/// A key of chain A that spells out a child chain of A and a key in it:
/// `ws:<id>:kv:<key>` in A against `<key>` in A → ws <id>.
fn forging_key_case() -> impl Strategy<Value = KeyCase> {
    // B: a chain of 2 or 3 links; A: its parent.
    (chain_of(2..=3), non_empty(), namespace()).prop_map(|(b, key, ns)| {
        let a = b[..b.len() - 1].to_vec();
        let (t, id) = b.last().cloned().expect("B has links");
        KeyCase {
            a,
            b,
            ns_a: ns,
            ns_b: ns,
            key_a: format!("{}:{}:{}:{}", scope_key(t), id, ns.as_str(), key),
            key_b: key,
        }
    })
}

fn assert_distinct_full_keys(case: KeyCase) -> TestCaseResult {
    let (_, store) = new_store();
    let a = scoped(&store, &case.a)?;
    let b = scoped(&store, &case.b)?;
    let full_a = a.full_key(case.ns_a, &case.key_a)?;
    let full_b = b.full_key(case.ns_b, &case.key_b)?;
    for (handle, ns, key, full) in [
        (&a, case.ns_a, &case.key_a, &full_a),
        (&b, case.ns_b, &case.key_b, &full_b),
    ] {
        let by_namespace = match ns {
            Namespace::Kv => handle.kv().key(key)?,
            Namespace::Counter => handle.counter().key(key)?,
            Namespace::Claim => handle.claim().key(key)?,
            other => {
                return Err(TestCaseError::fail(format!(
                    "unexpected namespace {other:?}"
                )));
            }
        };
        prop_assert_eq!(&by_namespace, full);
    }
    let same_triple = case.a == case.b && case.ns_a == case.ns_b && case.key_a == case.key_b;
    if same_triple {
        prop_assert_eq!(full_a, full_b);
    } else {
        prop_assert_ne!(
            full_a,
            full_b,
            "two distinct (chain, namespace, key) share a full key"
        );
    }
    Ok(())
}

/// The mapping from (chain, namespace, key) to a full key is one-to-one.
#[test]
fn distinct_chains_and_keys_never_share_a_full_key() {
    check(
        prop_oneof![key_case(), forging_key_case()],
        assert_distinct_full_keys,
    );
}

/// `scope()` refuses an empty identifier, at any depth (where the scope may
/// come; elsewhere the order is refused first).
#[test]
fn empty_identifiers_are_refused() {
    let (_, store) = new_store();
    for t in TENANTS {
        let err = store.scope(t, "").expect_err("an empty identifier");
        assert_eq!(err.code(), ErrorCode::ScopeIdentifierRequired);
        assert_eq!(err.code().as_str(), "STORE_SCOPE_IDENTIFIER_REQUIRED");
        let org = store
            .scope(Tenant::Organization, "org")
            .expect("a valid identifier");
        // The organization cannot come twice: that is refused first.
        let expected = if t == Tenant::Organization {
            "STORE_SCOPE_ORDER"
        } else {
            "STORE_SCOPE_IDENTIFIER_REQUIRED"
        };
        let err = org.scope(t, "").expect_err("an empty nested identifier");
        assert_eq!(err.code().as_str(), expected);
        let err = org
            .scope(t, String::new())
            .expect_err("an empty String identifier");
        assert_eq!(err.code().as_str(), expected);
    }
    // The typed path refuses them too.
    let org = store
        .scope(tenant::Organization, "org")
        .expect("a valid identifier");
    assert_eq!(
        org.scope(tenant::Team, "").unwrap_err().code(),
        ErrorCode::ScopeIdentifierRequired
    );
    assert_eq!(
        store.scope(tenant::Workspace, "").unwrap_err().code(),
        ErrorCode::ScopeIdentifierRequired
    );
    // Identifiers that merely look empty or are numbers are fine.
    store
        .scope(Tenant::Organization, " ")
        .expect("white space is an identifier");
    store
        .scope(Tenant::Organization, 0)
        .expect("0 is an identifier");
}

/// Reading another tenant's keys (or any missing key) must leave nothing
/// behind: a read that creates keys lets anyone who can read fill the store
/// with persistent keys, and makes a purge of a tenant that never wrote
/// anything find data.
#[test]
fn reads_through_another_chain_write_nothing() {
    runtime().block_on(async {
        let (memory, store) = new_store();
        let a = store.scope(Tenant::Organization, "a").unwrap();
        let b = store.scope(Tenant::Organization, "b").unwrap();
        a.kv().set("k", &"v").await.unwrap();
        a.counter().increment("k").await.unwrap();
        let keys = memory.len();

        assert_eq!(b.kv().get::<String>("k").await.unwrap(), None);
        assert!(!b.kv().exists("k").await.unwrap());
        assert_eq!(b.kv().ttl("k").await.unwrap(), KeyTtl::Missing);
        assert_eq!(
            b.batch().get::<String, _>(&["k"]).await.unwrap(),
            vec![None]
        );
        assert_eq!(
            scan_everything(&b, "*").await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(memory.len(), keys, "kv reads wrote keys");

        assert_eq!(b.counter().get("k").await.unwrap(), 0);
        assert_eq!(
            memory.len(),
            keys,
            "counter().get on a missing counter created a key"
        );
        assert_eq!(
            b.purge().await.unwrap(),
            0,
            "a tenant that never wrote has nothing to purge"
        );
    });
}
