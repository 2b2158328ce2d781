//! Fuzz targets as property tests with large case counts, and the replay of
//! their corpus (`store/tests/fuzz-corpus/`) on every `cargo test`.
//!
//! The stable toolchain has no `cargo fuzz` (it needs nightly's sanitizer
//! flags), so the targets are proptest strategies run with many cases; every
//! disagreement they ever found is kept in the corpus files and replayed.
//!
//! | target | property | oracle |
//! |---|---|---|
//! | identifier escaping | `unescape(escape(id)) == id`; `unescape(t) == Some(u)` implies `escape(u) == t`; escaped ids hold no `:`, `{`, `}` | itself |
//! | scope chains → keys | every full key parses back, from the left, into exactly its (chain, namespace, key): no two distinct ones share a key; with the scope hash tag the Redis hash tag is the outermost scope, whatever the identifiers and the key | a parser written here |
//! | glob matcher | `key::glob_matches` answers what Redis's `KEYS` and `SCAN MATCH` answer | a real `redis-server` |
//! | envelope decoding | arbitrary bytes on a channel (typed, raw-lenient, and a namespace pattern) never panic: each message gives one `Ok` or one coded `Err`, and the subscription goes on | the subscription |
//! | name rules | the builder refuses exactly the names `igniter_store_names::check` refuses, with the documented code | `check` |
//!
//! Name rules: the derives (`StoreScopes`, `StoreActors`, `StoreEvents`,
//! `events!`) cannot run at run time, so they are covered by the trybuild
//! cases of `ui-tests/tests/ui` (`key_with_colon`, `key_with_glob`,
//! `events_reserved_names`, `events_reserved_namespace`, ...), which call the
//! very same `igniter_store_names::check`. Here the run-time side is fuzzed:
//! random service names, prefixes, event namespaces and event names go
//! through the builder; scope and actor keys, which only exist as `const`s,
//! go through a corpus of hand-written `StoreScopes` / `StoreActors` sets (a
//! `ScopeDef::new(name, false)` each).
//!
//! Corpus files (one case a line, fields separated by a tab; bytes outside
//! `!`..`~` and the backslash are written `\xHH`, a backslash `\\`):
//!
//! - `glob.txt`: `<1|0>  <pattern>  <subject>`, what Redis answers. Replayed
//!   against the matcher (always) and against Redis (unless Redis tests are
//!   skipped). `cargo test -p igniter-store --test fuzz_replay --
//!   --ignored record_glob_corpus` rewrites the first column from Redis.
//! - `envelopes.txt`: `<ok|err> <ok|err>  <payload>`: what a subscriber of a
//!   `serde_json::Value` channel and of a struct channel get for the payload.
//!
//! Case counts: `IGNITER_STORE_FUZZ_CASES` (default 1) multiplies them.

#[path = "support/chains.rs"]
mod chains;
mod support;

use igniter_store::adapter::Backend;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use igniter_store::key::glob_matches as matches;
use igniter_store::key::{escape_identifier, unescape_identifier};
use igniter_store::{
    ErrorCode, MemoryAdapter, RedisAdapter, Store, StoreActors, StoreResult, StoreScopes,
    actor::ActorDef, actor::NoActors, events::ChannelDef, events::EventRegistry,
    events::Subscription, key::Namespace, scope::AllRequired, scope::Dynamic, scope::NoScopes,
    scope::ScopeDef, scope::ScopePosition,
};
use igniter_store_names::{NameKind, check};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

fn cases(base: u32) -> u32 {
    let scale = std::env::var("IGNITER_STORE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    base * scale
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn check_runner<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    if let Err(e) = runner(cases).run(&strategy, test) {
        panic!("{e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ------------------------------------------------------------- corpus format

fn corpus_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fuzz-corpus")
        .join(name)
}

/// Bytes as a corpus field: `!`..`~` as they are, a backslash `\\`, any
/// other byte `\xHH`.
fn escape_field(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'!'..=b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

fn unescape_field(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x')) => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The lines of a corpus file, split at tabs; comments (`#`) and blank lines
/// skipped.
fn corpus(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(corpus_path(name))
        .unwrap_or_else(|e| panic!("cannot read the corpus {name}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn corpus_fields_round_trip() {
    check_runner(
        cases(2000),
        prop::collection::vec(any::<u8>(), 0..40),
        |bytes| {
            let field = escape_field(&bytes);
            prop_assert!(!field.contains(['\t', '\n', ' ']));
            prop_assert_eq!(unescape_field(&field), bytes);
            Ok(())
        },
    );
}

// -------------------------------------------------------- identifier escaping

/// Characters that escaping and key building care about, and some that they
/// must not.
const ID_CHARS: &[char] = &[
    '%',
    ':',
    '{',
    '}',
    '3',
    'A',
    'a',
    '2',
    '5',
    '7',
    'B',
    'D',
    'd',
    'b',
    '*',
    '?',
    '[',
    ']',
    '\\',
    ' ',
    '\0',
    '\n',
    'ü',
    '日',
    '\u{10ffff}',
];

fn adversarial_string(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::collection::vec(select(ID_CHARS), 0..max).prop_map(|cs| cs.into_iter().collect()),
        2 => prop::collection::vec(
            select(vec!["%", "%25", "%3A", "%3a", "%7B", "%7D", "%2", ":", "{", "}", "kv", "counter",
                "claim", "fence", "streams", "organization", "ws", "team", "a", "x"]),
            0..6,
        )
        .prop_map(|parts| parts.concat()),
        1 => any::<String>(),
    ]
    .boxed()
}

#[test]
fn escaping_round_trips() {
    check_runner(cases(20_000), adversarial_string(12), |id| {
        let escaped = escape_identifier(&id);
        prop_assert!(
            !escaped.contains([':', '{', '}']),
            "escaped {escaped:?} holds a separator or a brace"
        );
        prop_assert_eq!(unescape_identifier(&escaped), Some(id.clone()));
        // every `%` starts one of the four escapes
        for (i, _) in escaped.match_indices('%') {
            let escape = escaped.get(i..i + 3);
            prop_assert!(
                matches!(escape, Some("%25" | "%3A" | "%7B" | "%7D")),
                "stray % in {escaped:?}"
            );
        }
        Ok(())
    });
}

#[test]
fn unescaping_inverts_escaping_exactly() {
    // any text that unescapes is the escape of what it unescapes to: no two
    // texts unescape to one identifier, so the escaped form is canonical
    check_runner(cases(20_000), adversarial_string(16), |text| {
        if let Some(id) = unescape_identifier(&text) {
            prop_assert_eq!(escape_identifier(&id), text);
        }
        Ok(())
    });
}

// -------------------------------------------------------- scope chains → keys

#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Tenant {
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

const TENANTS: [Tenant; 3] = [Tenant::Organization, Tenant::Workspace, Tenant::Team];

const NAMESPACES: [Namespace; 5] = [
    Namespace::Kv,
    Namespace::Counter,
    Namespace::Claim,
    Namespace::Fence,
    Namespace::Streams,
];

type Chain = chains::Chain<Tenant>;

/// A valid chain (declaration order, each scope at most once), the root
/// included.
fn chain() -> impl Strategy<Value = Chain> + Clone {
    chains::valid_chain(&TENANTS, 0..=TENANTS.len(), non_empty(8))
}

fn user_key() -> impl Strategy<Value = String> + Clone {
    non_empty(10)
}

/// Identifiers and keys must not be empty (`scope()` and every operation
/// refuse them; tested elsewhere): an empty draw becomes `%`.
fn non_empty(max: usize) -> impl Strategy<Value = String> + Clone {
    adversarial_string(max).prop_map(|s| if s.is_empty() { "%".to_owned() } else { s })
}

fn key_store(hash_tag: bool) -> Store<Tenant> {
    let builder = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("svc")
        .scopes::<Tenant>();
    let builder = if hash_tag {
        builder.scope_hash_tag()
    } else {
        builder
    };
    builder.build().unwrap()
}

fn full_key(root: &Store<Tenant>, chain: &Chain, ns: Namespace, key: &str) -> String {
    chains::scoped(root, chain)
        .unwrap()
        .full_key(ns, key)
        .unwrap()
}

/// Reads a full key from the left: `igniter:store:svc`, then scope links
/// (`<scope key>:<escaped id>`, the first one in braces with the hash tag)
/// until a namespace word, then the user's key. `None` if it does not read.
fn parse_key(full: &str, hash_tag: bool) -> Option<(Chain, String, String)> {
    let mut rest = full.strip_prefix("igniter:store:svc:")?;
    let mut chain = Vec::new();
    loop {
        let braced = hash_tag && chain.is_empty() && rest.starts_with('{');
        if braced {
            rest = &rest[1..];
        }
        let (segment, tail) = rest.split_once(':')?;
        if !braced && NAMESPACES.iter().any(|ns| ns.as_str() == segment) {
            return Some((chain, segment.to_owned(), tail.to_owned()));
        }
        let tenant = *TENANTS.iter().find(|t| t.def().key() == segment)?;
        let (escaped, tail) = if braced {
            let end = tail.find('}')?;
            let (id, after) = tail.split_at(end);
            (id, after.strip_prefix("}:")?)
        } else {
            tail.split_once(':')?
        };
        chain.push((tenant, unescape_identifier(escaped)?));
        rest = tail;
    }
}

/// Redis Cluster's hash tag: between the first `{` and the first `}` after
/// it, when not empty.
fn redis_hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')? + open + 1;
    (close > open + 1).then(|| &key[open + 1..close])
}

#[test]
fn every_key_reads_back_into_its_chain_namespace_and_key() {
    let plain = key_store(false);
    let tagged = key_store(true);
    check_runner(
        cases(10_000),
        (chain(), select(NAMESPACES.to_vec()), user_key()),
        |(chain, ns, key)| {
            for (root, hash_tag) in [(&plain, false), (&tagged, true)] {
                let full = full_key(root, &chain, ns, &key);
                let parsed = parse_key(&full, hash_tag);
                prop_assert_eq!(
                    parsed,
                    Some((chain.clone(), ns.as_str().to_owned(), key.clone())),
                    "{:?} (hash tag {})",
                    full,
                    hash_tag
                );
                // the slot: only the outermost scope with the tag, only the
                // user's key without it; no identifier moves a key's slot
                let tag = redis_hash_tag(&full);
                match (hash_tag, chain.first()) {
                    (true, Some((t, id))) => {
                        let expected = format!("{}:{}", t.def().key(), escape_identifier(id));
                        prop_assert_eq!(tag, Some(expected.as_str()), "{:?}", full);
                    }
                    _ => prop_assert_eq!(tag, redis_hash_tag(&key), "{:?}", full),
                }
            }
            Ok(())
        },
    );
}

/// Pairs made from one another: an identifier that spells out more links, a
/// link moved, an escape written by hand, the same identifiers under other
/// scopes. Every chain is valid: one out of declaration order is refused
/// before it has a key (`hierarchy.rs`).
fn related_chains() -> impl Strategy<Value = (Chain, Chain)> {
    (chain(), any::<prop::sample::Index>()).prop_flat_map(|(a, pick)| {
        let b = prop_oneof![
            Just(a.clone()),
            chain(),
            // the identifiers joined into one, as if an identifier could add links
            Just({
                let mut b = a.clone();
                if b.len() > 1 {
                    let joined: Vec<String> = b
                        .iter()
                        .map(|(t, id)| format!("{}:{}", t.def().key(), id))
                        .collect();
                    b = vec![(b[0].0, joined.join(":"))];
                }
                b
            }),
            // an identifier written as its own escape
            Just(
                a.iter()
                    .map(|(t, id)| (*t, escape_identifier(id)))
                    .collect::<Chain>()
            ),
            // the same identifiers under other scopes, in declaration order
            Just(
                chains::other_scopes(&TENANTS, &chains::scopes_of(&a), pick)
                    .into_iter()
                    .zip(a.iter().map(|(_, id)| id.clone()))
                    .collect::<Chain>()
            ),
            // one link dropped
            Just(a.iter().skip(1).cloned().collect::<Chain>()),
        ];
        (Just(a), b)
    })
}

#[test]
fn distinct_chains_namespaces_and_keys_never_share_a_key() {
    let plain = key_store(false);
    let tagged = key_store(true);
    let case = (
        related_chains(),
        select(NAMESPACES.to_vec()),
        select(NAMESPACES.to_vec()),
        user_key(),
        prop_oneof![2 => Just(None), 1 => user_key().prop_map(Some)],
    );
    check_runner(cases(10_000), case, |((a, b), ns_a, ns_b, key_a, key_b)| {
        let key_b = key_b.unwrap_or_else(|| key_a.clone());
        for root in [&plain, &tagged] {
            let full_a = full_key(root, &a, ns_a, &key_a);
            let full_b = full_key(root, &b, ns_b, &key_b);
            let same_triple = a == b && ns_a == ns_b && key_a == key_b;
            prop_assert_eq!(
                full_a == full_b,
                same_triple,
                "{:?} / {:?}: {:?}",
                a,
                b,
                full_a
            );
        }
        // a store with the tag and one without never share a key either
        // (except on the root handle, which has no scope to tag)
        if !a.is_empty() {
            prop_assert_ne!(
                full_key(&plain, &a, ns_a, &key_a),
                full_key(&tagged, &b, ns_b, &key_b)
            );
        }
        Ok(())
    });
}

// ------------------------------------------------------- the glob matcher

/// Bytes of patterns: glob syntax, letters that subjects share, a byte over
/// 0x7f (signed in Redis's range comparisons) and NUL.
const PATTERN_BYTES: &[u8] = &[
    b'*', b'?', b'[', b']', b'^', b'-', b'\\', b'a', b'b', b'c', b'z', b'A', 0xc3, 0xbc, 0xff, 0,
];
const SUBJECT_BYTES: &[u8] = &[
    b'a', b'b', b'c', b'z', b'A', b'-', b'^', b']', b'[', b'\\', b'*', b'?', 0xc3, 0xbc, 0xff, 0,
];

fn glob_bytes(alphabet: &'static [u8], max: usize) -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(select(alphabet), 0..max).boxed()
}

/// A connection to database 9 of this binary's Redis, which only the glob
/// tests use.
/// A connection to database `db` of the shared server. Each test that
/// flushes a database has one of its own: tests run in parallel.
async fn glob_db(db: u8) -> redis::aio::MultiplexedConnection {
    let url = format!("{}{db}", support::shared().url());
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// What Redis matches: `subjects` written as keys (in a flushed database),
/// then `KEYS <pattern>` for every pattern, and `SCAN MATCH` for the first
/// `scanned` patterns. Returns, per pattern, the matching subjects (by
/// `KEYS`, and by `SCAN` when scanned).
async fn redis_matches(
    con: &mut redis::aio::MultiplexedConnection,
    patterns: &[Vec<u8>],
    subjects: &BTreeSet<Vec<u8>>,
    scanned: usize,
) -> Vec<(BTreeSet<Vec<u8>>, Option<BTreeSet<Vec<u8>>>)> {
    let mut setup = redis::pipe();
    setup.cmd("FLUSHDB").ignore();
    for s in subjects {
        setup.cmd("SET").arg(s).arg(1).ignore();
    }
    setup.query_async::<()>(con).await.unwrap();
    let mut keys = redis::pipe();
    for p in patterns {
        keys.cmd("KEYS").arg(p);
    }
    let found: Vec<Vec<Vec<u8>>> = keys.query_async(con).await.unwrap();
    let mut out = Vec::new();
    for (i, (p, found)) in patterns.iter().zip(found).enumerate() {
        let scan = if i < scanned {
            let mut seen = BTreeSet::new();
            let mut cursor = 0u64;
            loop {
                let (next, page): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(p)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(con)
                    .await
                    .unwrap();
                seen.extend(page);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            Some(seen)
        } else {
            None
        };
        out.push((found.into_iter().collect(), scan));
    }
    out
}

/// A subject close to what `pattern` matches: `*` becomes up to two bytes,
/// `?` one, a bracket the byte after `[` (or after `^`), an escape the
/// escaped byte; `choices` picks the bytes, and may drop or change one.
fn instantiate(pattern: &[u8], choices: &[u8]) -> Vec<u8> {
    let mut choices = choices.iter().copied().cycle();
    let mut pick = || choices.next().unwrap_or(0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' => {
                for _ in 0..pick() % 3 {
                    out.push(SUBJECT_BYTES[usize::from(pick()) % SUBJECT_BYTES.len()]);
                }
            }
            b'?' => out.push(SUBJECT_BYTES[usize::from(pick()) % SUBJECT_BYTES.len()]),
            b'[' => {
                i += 1;
                if pattern.get(i) == Some(&b'^') {
                    i += 1;
                }
                if let Some(&b) = pattern.get(i) {
                    out.push(b);
                }
                while i < pattern.len() && pattern[i] != b']' {
                    i += 1;
                }
            }
            b'\\' if i + 1 < pattern.len() => {
                i += 1;
                out.push(pattern[i]);
            }
            b => out.push(b),
        }
        i += 1;
    }
    match pick() % 4 {
        0 if !out.is_empty() => {
            let at = usize::from(pick()) % out.len();
            out.remove(at);
        }
        1 if !out.is_empty() => {
            let at = usize::from(pick()) % out.len();
            out[at] = SUBJECT_BYTES[usize::from(pick()) % SUBJECT_BYTES.len()];
        }
        _ => {}
    }
    out
}

fn show(bytes: &[u8]) -> String {
    escape_field(bytes)
}

#[test]
fn glob_matches_like_redis() {
    if support::skip_redis() {
        return;
    }
    let rt = runtime();
    let con = rt.block_on(glob_db(9));
    // random subjects, and subjects made from the patterns (matching or
    // nearly), so that both answers are common
    let case = (
        prop::collection::vec(
            (
                glob_bytes(PATTERN_BYTES, 9),
                prop::collection::vec(any::<u8>(), 1..12),
            ),
            1..30,
        ),
        prop::collection::btree_set(glob_bytes(SUBJECT_BYTES, 7), 1..20),
    )
        .prop_map(|(patterns, mut subjects)| {
            for (p, choices) in &patterns {
                subjects.insert(instantiate(p, choices));
            }
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(|(p, _)| p).collect();
            (patterns, subjects)
        });
    check_runner(cases(1500), case, |(patterns, subjects)| {
        let mut con = con.clone();
        let redis = rt.block_on(redis_matches(&mut con, &patterns, &subjects, 3));
        for (pattern, (keys, scan)) in patterns.iter().zip(redis) {
            for subject in &subjects {
                let ours = matches(pattern, subject);
                let theirs = keys.contains(subject);
                prop_assert_eq!(
                    ours,
                    theirs,
                    "pattern and subject (corpus line): {}\t{}\t{}",
                    u8::from(theirs),
                    show(pattern),
                    show(subject)
                );
                if let Some(scan) = &scan {
                    prop_assert_eq!(
                        scan.contains(subject),
                        theirs,
                        "SCAN and KEYS disagree on {} {}",
                        show(pattern),
                        show(subject)
                    );
                }
            }
        }
        Ok(())
    });
}

/// Long and repetitive patterns: the nesting limit and the shortcut that
/// stops exponential matching.
#[test]
fn glob_long_patterns_match_like_redis() {
    if support::skip_redis() {
        return;
    }
    let rt = runtime();
    let con = rt.block_on(glob_db(10));
    let case = (
        1usize..1200,
        select(vec![
            &b"*a"[..],
            b"a*",
            b"*?",
            b"?",
            b"*",
            b"[a]*",
            b"*[^b]",
        ]),
        prop::collection::vec((0usize..1300, select(vec![b'a', b'b'])), 1..6),
    );
    check_runner(cases(60), case, |(n, unit, subjects)| {
        let mut con = con.clone();
        let pattern = unit.repeat(n);
        let subjects: BTreeSet<Vec<u8>> = subjects
            .into_iter()
            .map(|(len, b)| {
                let mut s = vec![b'a'; len];
                s.push(b);
                s
            })
            .collect();
        let redis = rt.block_on(redis_matches(
            &mut con,
            std::slice::from_ref(&pattern),
            &subjects,
            0,
        ));
        for subject in &subjects {
            prop_assert_eq!(
                matches(&pattern, subject),
                redis[0].0.contains(subject),
                "pattern {:?} x {} against a{{{}}}",
                String::from_utf8_lossy(unit),
                n,
                subject.len()
            );
        }
        Ok(())
    });
}

fn glob_corpus() -> Vec<(Option<bool>, Vec<u8>, Vec<u8>)> {
    corpus("glob.txt")
        .into_iter()
        .map(|fields| {
            let [expected, pattern, subject] = <[String; 3]>::try_from(fields)
                .unwrap_or_else(|f| panic!("a glob corpus line has 3 fields: {f:?}"));
            let expected = match expected.as_str() {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            };
            (expected, unescape_field(&pattern), unescape_field(&subject))
        })
        .collect()
}

#[test]
fn glob_corpus_replays() {
    let corpus = glob_corpus();
    assert!(corpus.len() > 50, "the glob corpus is there");
    for (expected, pattern, subject) in &corpus {
        let expected = expected.unwrap_or_else(|| {
            panic!(
                "{}\t{} has no recorded answer: run record_glob_corpus",
                show(pattern),
                show(subject)
            )
        });
        assert_eq!(
            matches(pattern, subject),
            expected,
            "glob corpus: {}\t{}",
            show(pattern),
            show(subject)
        );
    }
}

#[test]
fn glob_corpus_is_what_redis_answers() {
    if support::skip_redis() {
        return;
    }
    let rt = runtime();
    let mut con = rt.block_on(glob_db(11));
    // one subject per round, since subjects of different lines may be equal
    for (expected, pattern, subject) in glob_corpus() {
        let subjects = BTreeSet::from([subject.clone()]);
        let redis = rt.block_on(redis_matches(
            &mut con,
            std::slice::from_ref(&pattern),
            &subjects,
            1,
        ));
        let (keys, scan) = &redis[0];
        assert_eq!(
            Some(keys.contains(&subject)),
            expected,
            "KEYS: {}\t{}",
            show(&pattern),
            show(&subject)
        );
        assert_eq!(
            scan.as_ref().map(|s| s.contains(&subject)),
            expected,
            "SCAN: {}\t{}",
            show(&pattern),
            show(&subject)
        );
    }
}

/// Rewrites the first column of `glob.txt` with what Redis answers.
#[test]
#[ignore = "rewrites store/tests/fuzz-corpus/glob.txt from Redis; run by hand"]
fn record_glob_corpus() {
    let rt = runtime();
    let mut con = rt.block_on(glob_db(12));
    let path = corpus_path("glob.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if line.starts_with('#') || fields.len() != 3 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let (pattern, subject) = (unescape_field(fields[1]), unescape_field(fields[2]));
        let subjects = BTreeSet::from([subject.clone()]);
        let redis = rt.block_on(redis_matches(
            &mut con,
            std::slice::from_ref(&pattern),
            &subjects,
            0,
        ));
        let answer = u8::from(redis[0].0.contains(&subject));
        out.push_str(&format!("{answer}\t{}\t{}\n", fields[1], fields[2]));
    }
    std::fs::write(&path, out).unwrap();
}

// -------------------------------------------------------- envelope decoding

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Strict {
    pub id: u32,
    pub name: String,
}

igniter_store::events! {
    /// Channels the envelope fuzzing publishes on.
    pub fz {
        /// Anything JSON.
        any(serde_json::Value),
        /// A struct.
        strict(Strict),
        group deep {
            leaf(Strict),
        }
    }
}

/// Arbitrary bytes, and JSON that looks more or less like an envelope.
fn payload() -> BoxedStrategy<Vec<u8>> {
    let scalar = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,8}".prop_map(Value::from),
        select(vec![
            "fz:any",
            "fz:strict",
            "fz:deep:leaf",
            "2026-11-26T05:39:29.123Z",
            ""
        ])
        .prop_map(Value::from),
    ];
    let json = scalar.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                select(vec![
                    "type",
                    "data",
                    "timestamp",
                    "scope",
                    "scopes",
                    "actor",
                    "key",
                    "identifier",
                    "id",
                    "name",
                    "version",
                    "x"
                ])
                .prop_map(str::to_owned),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let envelope = (
        prop::option::of(json.clone()),
        prop::option::of(json.clone()),
        prop::option::of(json.clone()),
        prop::option::of(json.clone()),
        prop::collection::btree_map(".{1,6}", json.clone(), 0..3),
    )
        .prop_map(|(ty, data, ts, scope, extra)| {
            let mut m = serde_json::Map::new();
            if let Some(v) = ty {
                m.insert("type".into(), v);
            }
            if let Some(v) = data {
                m.insert("data".into(), v);
            }
            if let Some(v) = ts {
                m.insert("timestamp".into(), v);
            }
            if let Some(v) = scope {
                m.insert("scope".into(), v);
            }
            m.extend(extra);
            serde_json::to_vec(&Value::Object(m)).unwrap()
        });
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..200),
        3 => envelope,
        2 => json.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // JSON cut short, or with a byte changed
        2 => (json_bytes(), any::<prop::sample::Index>(), any::<u8>(), any::<bool>())
            .prop_map(|(mut bytes, at, byte, cut)| {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    if cut { bytes.truncate(i) } else { bytes[i] = byte }
                }
                bytes
            }),
        // deep nesting, past serde_json's recursion limit
        1 => (1usize..3000, select(vec![&b"["[..], b"{\"data\":", b"{\"type\":\"fz:any\",\"timestamp\":\"t\",\"data\":"]))
            .prop_map(|(n, open)| open.repeat(n)),
        1 => select(vec![
            &b"1e400"[..], b"-0", b"123456789012345678901234567890", b"\"\\ud800\"", b"\"\xff\"",
            b"{\"type\":\"fz:any\",\"type\":\"x\",\"data\":1,\"timestamp\":\"t\"}",
            b"{\"type\":\"fz:any\",\"data\":1,\"timestamp\":\"t\",\"x\":1e400}",
        ])
        .prop_map(<[u8]>::to_vec),
    ]
    .boxed()
}

fn json_bytes() -> BoxedStrategy<Vec<u8>> {
    select(vec![
        json!({"type": "fz:strict", "data": {"id": 1, "name": "n"}, "timestamp": "2026-11-26T05:39:29.123Z"}),
        json!({"type": "fz:any", "data": [1, {"a": null}], "timestamp": "t", "scope": {"key": "organization", "identifier": "o"}}),
        json!({"id": 7, "name": "raw"}),
    ])
    .prop_map(|v| serde_json::to_vec(&v).unwrap())
    .boxed()
}

/// Names under the namespace the pattern subscription covers: declared,
/// undeclared, empty, deeper.
fn event_suffix() -> BoxedStrategy<String> {
    prop_oneof![
        select(vec![
            "any",
            "strict",
            "deep:leaf",
            "deep",
            "nope",
            "",
            "deep:leaf:x",
            "any:"
        ])
        .prop_map(str::to_owned),
        "[a-z:*?\\[\\]]{0,8}",
    ]
    .boxed()
}

struct Subscribers {
    store: Store<Dynamic<Tenant>>,
    any: Subscription<Value>,
    strict: Subscription<Strict>,
    all: Subscription<fz::Event>,
    prefix: String,
}

async fn subscribers(adapter: Backend) -> Subscribers {
    let root = Store::builder()
        .shared_adapter(adapter)
        .service(format!("fz{}", std::process::id()))
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let store = root.scope(Tenant::Organization, "o:1").unwrap();
    let events = store.events();
    let any = events.subscribe(&fz::ANY).await.unwrap();
    let strict = events.subscribe(&fz::STRICT).await.unwrap();
    let all = events.subscribe_all::<fz::Event>().await.unwrap();
    let channel = events.channel_name(&fz::ANY).unwrap();
    let prefix = channel.strip_suffix("fz:any").unwrap().to_owned();
    Subscribers {
        store,
        any,
        strict,
        all,
        prefix,
    }
}

/// The next item, within `wait`: `Ok` or a coded `Err`; never the end.
async fn next_item<T>(
    sub: &mut Subscription<T>,
    wait: Duration,
) -> Result<Arc<igniter_store::events::EventContext<T>>, ErrorCode> {
    match tokio::time::timeout(wait, sub.next()).await {
        Ok(Some(Ok(ev))) => Ok(ev),
        Ok(Some(Err(e))) => Err(e.code()),
        Ok(None) => panic!("the subscription ended"),
        Err(_) => panic!("no item within {wait:?}"),
    }
}

fn decode_error(code: ErrorCode, allowed: &[ErrorCode]) -> Result<(), TestCaseError> {
    prop_assert!(allowed.contains(&code), "unexpected code {code}");
    Ok(())
}

/// Publishes `payload` on the three declared channels and on
/// `fz:<suffix>`, and checks that every subscriber gets one item for each
/// message it covers, `Ok` or a decoding error.
async fn publish_and_receive(
    subs: &mut Subscribers,
    payload: &[u8],
    suffix: &str,
    wait: Duration,
) -> Result<(bool, bool), TestCaseError> {
    let adapter = subs.store.adapter();
    let decoding = [ErrorCode::DeserializationFailed];
    let mut outcomes = (false, false);
    for event in ["fz:any", "fz:strict", "fz:deep:leaf"] {
        let channel = format!("{}{event}", subs.prefix);
        adapter
            .publish(&channel, bytes::Bytes::copy_from_slice(payload))
            .await
            .unwrap();
        match event {
            "fz:any" => match next_item(&mut subs.any, wait).await {
                Ok(_) => outcomes.0 = true,
                Err(code) => decode_error(code, &decoding)?,
            },
            "fz:strict" => match next_item(&mut subs.strict, wait).await {
                Ok(_) => outcomes.1 = true,
                Err(code) => decode_error(code, &decoding)?,
            },
            _ => {}
        }
        if let Err(code) = next_item(&mut subs.all, wait).await {
            decode_error(code, &decoding)?;
        }
    }
    // a channel under the namespace, declared or not
    let event = format!("fz:{suffix}");
    let channel = format!("{}{event}", subs.prefix);
    adapter
        .publish(&channel, bytes::Bytes::copy_from_slice(payload))
        .await
        .unwrap();
    if event == "fz:any" {
        let _ = next_item(&mut subs.any, wait).await;
    }
    if event == "fz:strict" {
        let _ = next_item(&mut subs.strict, wait).await;
    }
    let declared = fz::REGISTRY.channels().iter().any(|c| c.name() == event);
    match next_item(&mut subs.all, wait).await {
        Ok(ev) => prop_assert!(
            declared,
            "an event on the undeclared {event:?}: {:?}",
            ev.event_type
        ),
        Err(code) if declared => decode_error(code, &decoding)?,
        Err(code) => prop_assert_eq!(code, ErrorCode::SchemaChannelNotFound),
    }
    Ok(outcomes)
}

/// After any payload, a good envelope still arrives: the subscriptions go on.
async fn still_receiving(subs: &mut Subscribers, wait: Duration) {
    let events = subs.store.events();
    events
        .publish(
            &fz::STRICT,
            &Strict {
                id: 1,
                name: "after".into(),
            },
        )
        .await
        .unwrap();
    let ev = next_item(&mut subs.strict, wait)
        .await
        .expect("a good event decodes");
    assert_eq!(ev.data.name, "after");
    assert!(matches!(
        &next_item(&mut subs.all, wait).await.unwrap().data,
        fz::Event::Strict(s) if s.name == "after"
    ));
}

fn envelope_fuzz(adapter: impl FnOnce() -> Backend, n: u32, wait: Duration) {
    let rt = runtime();
    let adapter = rt.block_on(async { adapter() });
    let subs = std::sync::Mutex::new(rt.block_on(subscribers(adapter)));
    check_runner(n, (payload(), event_suffix()), |(payload, suffix)| {
        let mut subs = subs.lock().unwrap();
        rt.block_on(publish_and_receive(&mut subs, &payload, &suffix, wait))
            .map(drop)
    });
    rt.block_on(still_receiving(&mut subs.lock().unwrap(), wait));
}

#[test]
fn arbitrary_messages_never_break_a_memory_subscription() {
    envelope_fuzz(
        || Backend::new(MemoryAdapter::new()),
        cases(3000),
        Duration::from_secs(2),
    );
}

#[test]
fn arbitrary_messages_never_break_a_redis_subscription() {
    if support::skip_redis() {
        return;
    }
    let url = support::shared().url();
    envelope_fuzz(
        move || {
            let adapter = futures::executor::block_on(RedisAdapter::connect(&url)).unwrap();
            Backend::new(adapter)
        },
        cases(300),
        Duration::from_secs(5),
    );
}

#[test]
fn envelope_corpus_replays() {
    let rt = runtime();
    let mut subs = rt.block_on(subscribers(Backend::new(MemoryAdapter::new())));
    let corpus = corpus("envelopes.txt");
    assert!(corpus.len() >= 20, "the envelope corpus is there");
    for fields in corpus {
        let [any, strict, payload] = <[String; 3]>::try_from(fields)
            .unwrap_or_else(|f| panic!("an envelope corpus line has 3 fields: {f:?}"));
        let bytes = unescape_field(&payload);
        let (any_ok, strict_ok) = rt
            .block_on(publish_and_receive(
                &mut subs,
                &bytes,
                "nope",
                Duration::from_secs(2),
            ))
            .unwrap_or_else(|e| panic!("{payload}: {e}"));
        let show = |ok: bool| if ok { "ok" } else { "err" };
        assert_eq!(
            (show(any_ok), show(strict_ok)),
            (any.as_str(), strict.as_str()),
            "envelope corpus: {payload}"
        );
    }
    rt.block_on(still_receiving(&mut subs, Duration::from_secs(2)));
}

/// Prints the envelope corpus with the outcomes of today's decoder, to
/// paste over `envelopes.txt` after a deliberate change.
#[test]
#[ignore = "prints store/tests/fuzz-corpus/envelopes.txt with today's outcomes; run by hand"]
fn record_envelope_corpus() {
    let rt = runtime();
    let mut subs = rt.block_on(subscribers(Backend::new(MemoryAdapter::new())));
    for fields in corpus("envelopes.txt") {
        let payload = fields.last().unwrap();
        let (a, s) = rt
            .block_on(publish_and_receive(
                &mut subs,
                &unescape_field(payload),
                "nope",
                Duration::from_secs(2),
            ))
            .unwrap();
        let show = |ok: bool| if ok { "ok" } else { "err" };
        println!("{}\t{}\t{payload}", show(a), show(s));
    }
}

// ------------------------------------------------------------- name rules

/// Characters that decide the name rules, and lookalikes that must not.
const NAME_CHARS: &[char] = &[
    'a', 'k', 'v', 'i', 'g', 'n', 't', 'e', 'r', 'I', 'G', 'N', 'K', 'V', '_', '-', '0', ':', '.',
    '*', '?', '[', ']', '\\', '{', '}', ' ', '\t', '\n', '\0', '\u{7f}', '\u{85}', '\u{a0}',
    '\u{2003}', '\u{3000}', '\u{200b}', '\u{feff}', '\u{212a}', 'ü', 'İ', 'ı', '/', '%', '@',
];

fn name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::collection::vec(select(NAME_CHARS), 0..8).prop_map(|cs| cs.into_iter().collect()),
        3 => (
            select(vec!["", "ign", "IGN", "Ign", "igniter", "IGNITER", "iGnItEr", "__", "_", "ignore",
                "ignition", "kv", "KV", "Kv", "counter", "claim", "events", "streams", "fence", "FENCE"]),
            select(vec!["", "-", "_", "x", "-x", "_x", "__", "s", ":x", ".x", " ", "\u{0}"]),
        )
            .prop_map(|(a, b)| format!("{a}{b}")),
        1 => any::<String>(),
    ]
    .boxed()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn build_with<S: StoreScopes + ScopePosition<Scopes = S>, A: StoreActors>(
    service: &str,
    prefix: Option<&str>,
    registries: &[EventRegistry],
) -> StoreResult<()> {
    let mut builder = Store::builder()
        .adapter(MemoryAdapter::new())
        .service(service)
        .scopes::<S>()
        .actors::<A>();
    if let Some(prefix) = prefix {
        builder = builder.prefix(prefix);
    }
    for r in registries {
        builder = builder.events(*r);
    }
    builder.build().map(drop)
}

fn refusal(r: StoreResult<()>) -> Option<ErrorCode> {
    r.err().map(|e| e.code())
}

#[test]
fn service_names_and_prefixes_are_refused_exactly_as_check_refuses() {
    check_runner(cases(5000), name(), |name| {
        let expected = match check(NameKind::Service, &name) {
            Ok(()) => None,
            Err(_) if name.is_empty() => Some(ErrorCode::ServiceRequired),
            Err(_) => Some(ErrorCode::ConfigurationInvalid),
        };
        prop_assert_eq!(
            refusal(build_with::<NoScopes, NoActors>(&name, None, &[])),
            expected,
            "service {:?}",
            name
        );
        // every segment follows the rules, and the store is not placed
        // inside a default-layout store's key space (`igniter:store:<svc>:`)
        let prefix_ok = name
            .split(':')
            .all(|segment| check(NameKind::Service, segment).is_ok())
            && (name == "igniter:store" || !format!("{name}:svc:").starts_with("igniter:store:"));
        prop_assert_eq!(
            refusal(build_with::<NoScopes, NoActors>("svc", Some(&name), &[])),
            (!prefix_ok).then_some(ErrorCode::ConfigurationInvalid),
            "prefix {:?}",
            name
        );
        Ok(())
    });
}

#[test]
fn namespaces_and_event_names_are_refused_exactly_as_check_refuses() {
    check_runner(cases(5000), (name(), name()), |(namespace, event)| {
        // the namespace
        let registry = EventRegistry::new(leak(namespace.clone()), &[]);
        let expected = check(NameKind::Namespace, &namespace).err().map(|e| {
            if e.problem() == igniter_store_names::NameProblem::Reserved {
                ErrorCode::ReservedNamespace
            } else {
                ErrorCode::InvalidNamespace
            }
        });
        prop_assert_eq!(
            refusal(build_with::<NoScopes, NoActors>("svc", None, &[registry])),
            expected,
            "namespace {:?}",
            namespace
        );
        // an event (with its groups) in a valid namespace: every segment is
        // checked; the macros check groups as `Group` and the last segment as
        // `Event`, which are one rule
        let channels: &'static [ChannelDef] = Box::leak(Box::new([ChannelDef::new(
            leak(format!("fzn:{event}")),
            "T",
        )]));
        let registry = EventRegistry::new("fzn", channels);
        let segments_ok = event.split(':').all(|segment| {
            let as_event = check(NameKind::Event, segment).map_err(|e| e.problem());
            let as_group = check(NameKind::Group, segment).map_err(|e| e.problem());
            assert_eq!(
                as_event, as_group,
                "groups and events share one rule: {segment:?}"
            );
            as_event.is_ok()
        });
        prop_assert_eq!(
            refusal(build_with::<NoScopes, NoActors>("svc", None, &[registry])),
            (!segments_ok).then_some(ErrorCode::InvalidEventName),
            "event {:?}",
            event
        );
        // scope and actor keys share one rule too
        prop_assert_eq!(
            check(NameKind::Scope, &event).map_err(|e| e.problem()),
            check(NameKind::Actor, &event).map_err(|e| e.problem())
        );
        Ok(())
    });
}

/// Builds a store with a hand-written scope set and actor set of one key
/// each, for every name of the corpus (scope and actor keys are `const`s, so
/// they cannot be drawn at run time).
macro_rules! key_corpus {
    ($($name:expr),* $(,)?) => {
        vec![$({
            struct S;
            impl StoreScopes for S {
                const SCOPES: &'static [ScopeDef] = &[ScopeDef::new($name, false)];
                fn index(&self) -> usize {
                    0
                }
            }
            impl ScopePosition for S {
                type Scopes = S;
                type Missing = AllRequired;
            }
            struct Twice;
            impl StoreScopes for Twice {
                const SCOPES: &'static [ScopeDef] =
                    &[ScopeDef::new($name, true), ScopeDef::new($name, false)];
                fn index(&self) -> usize {
                    0
                }
            }
            impl ScopePosition for Twice {
                type Scopes = Twice;
                type Missing = AllRequired;
            }
            struct A;
            impl StoreActors for A {
                const ACTORS: &'static [ActorDef] = &[ActorDef::new($name)];
                fn index(&self) -> usize {
                    0
                }
            }
            (
                $name,
                build_with::<S, NoActors>("svc", None, &[]),
                build_with::<Twice, NoActors>("svc", None, &[]),
                build_with::<NoScopes, A>("svc", None, &[]),
            )
        }),*]
    };
}

#[test]
fn scope_and_actor_keys_are_refused_exactly_as_check_refuses() {
    let corpus = key_corpus![
        "organization",
        "ws",
        "team",
        "api_key",
        "apiKey",
        "a",
        "A",
        "0",
        "-",
        "_",
        "x-y",
        "ü",
        "日本",
        "",
        " ",
        "a b",
        "a\tb",
        "a\nb",
        "\0",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{2003}",
        "\u{3000}",
        "\u{200b}",
        "\u{feff}",
        "a:b",
        ":",
        "a.b",
        ".",
        "*",
        "a*",
        "?",
        "[",
        "]",
        "[a]",
        "\\",
        "{",
        "}",
        "{a}",
        "kv",
        "KV",
        "Kv",
        "counter",
        "Counter",
        "claim",
        "events",
        "EVENTS",
        "streams",
        "fence",
        "Fence",
        "kv_",
        "kvs",
        "igniter",
        "IGNITER",
        "Igniter",
        "igniter-x",
        "igniter_x",
        "igniterx",
        "igniters",
        "ign",
        "IGN",
        "ign-",
        "ign_",
        "ign-x",
        "ign_x",
        "ignx",
        "ignore",
        "ignition",
        "Ignition",
        "__",
        "__x",
        "_x",
        "x__",
        "_",
        "\u{212a}v",
        "İgn",
        "ıgn",
        "ign\u{200b}",
        "%",
        "%3A",
        "@",
        "/",
        "a/b",
    ];
    assert!(corpus.len() > 80);
    for (name, one, twice, actor) in corpus {
        let rule = check(NameKind::Scope, name);
        let expected = match rule {
            Ok(()) => None,
            Err(_) if name.is_empty() => Some(ErrorCode::ScopeKeyRequired),
            Err(_) => Some(ErrorCode::InvalidScopeKey),
        };
        assert_eq!(refusal(one), expected, "scope key {name:?}");
        assert_eq!(
            refusal(twice),
            Some(expected.unwrap_or(ErrorCode::DuplicateScope)),
            "scope key {name:?} declared twice"
        );
        let expected = match check(NameKind::Actor, name) {
            Ok(()) => None,
            Err(_) if name.is_empty() => Some(ErrorCode::ActorKeyRequired),
            Err(_) => Some(ErrorCode::InvalidActorKey),
        };
        assert_eq!(refusal(actor), expected, "actor key {name:?}");
    }
}
