//! The differential test: the embedded [`MemoryAdapter`] against a real
//! Redis, through the public `Store` API (and, for what the API cannot
//! write, the `StoreAdapter` trait).
//!
//! Every case is a random sequence of operations — kv with TTLs, counters
//! (non-integer values and overflow included), claims (`once`/`release`,
//! `acquire`/`release`/`extend`), batches, scans with random glob patterns,
//! purges, values of the wrong type, and streams with consumer groups — run
//! on a store over `MemoryAdapter` and on a store over `RedisAdapter` with
//! the same service name and scope chains, so both use exactly the same full
//! keys. After every operation the two results must be equal:
//!
//! - values, existence, counter values, booleans and error codes exactly;
//! - fencing tokens by whether each is above every earlier token of its key
//!   on its side (tokens are clock-based and differ between the two), which
//!   must always hold;
//! - remaining TTLs both missing, both persistent, or both expiring within
//!   [`TTL_TOLERANCE`] of each other;
//! - scan results as sets (every page of a paged scan, followed to the end);
//! - stream entries in order and content, ids compared by the order of the
//!   appends that made them (ids are clock-based and differ between the two);
//!   pending summaries and entries by ordinal, consumer and delivery count
//!   (idle times are not compared).
//!
//! At the end of a case the whole keyspace of the case's service is compared
//! too, key by key (raw value, or "wrong type", and TTL class).
//!
//! TTLs are either long (at least 5 s: nothing expires during a case) or
//! short (1–5 ms). A key written with a short TTL is *volatile*: before any
//! operation touches it (an operation on it, a scan, a batch read, a purge),
//! the test waits until it has surely expired on both sides, so expiry is
//! tested without racing either clock. `MAXLEN ~` is not used: Redis trims
//! whole nodes and the memory adapter trims exactly (both keep at least the
//! length asked, which is all Redis promises).
//!
//! Failures shrink (proptest) to a minimal sequence, printed with the
//! mismatching operation. Failure persistence is off: a failure found here is
//! kept as a named regression test at the bottom of this file (ignored, with
//! the bug, while the bug is open), and the random cases tolerate exactly
//! that difference ([`known_bug`]) so that they keep looking for new ones.
//!
//! Cases: 2 100 random sequences of 1 to 60 operations (about 55 000
//! operations on each side), in five tests run in parallel, in about 15 s;
//! `IGNITER_STORE_DIFF_CASES` (default 1) multiplies the case counts for a
//! longer local run.

mod support;

use igniter_store::adapter::Backend;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use igniter_store::adapter::{KeyTtl, ScanCursor, SetOptions};
use igniter_store::{
    ErrorCode, MemoryAdapter, RedisAdapter, Store, StoreResult, StoreScopes, batch::BatchEntry,
    claim::Claim, scope::Dynamic,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    Organization,
    #[scope(key = "ws")]
    Workspace,
}

/// How far apart two remaining TTLs may be (the two sides run one after the
/// other, and Redis reports whole milliseconds).
const TTL_TOLERANCE: Duration = Duration::from_millis(250);

/// A handle of a case: a chain of scope values, or the root made dynamic, so
/// that handles of every depth fit in one list.
type Handle = Store<Dynamic<Tenant>>;

/// The handles every case works on: three scope chains and the root.
fn handles(root: &Store<Tenant>) -> Vec<Handle> {
    let o1 = root.scope(Tenant::Organization, "o1").unwrap();
    let ws = o1.scope(Tenant::Workspace, "w:1").unwrap();
    // glob characters in an identifier: escaped in every scan and purge
    let o2 = root.scope(Tenant::Organization, "o*[2]").unwrap();
    vec![o1, ws, o2, root.clone().into_dynamic()]
}

// ---------------------------------------------------------------- operations

/// A TTL as the operations take it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ttl {
    /// At least 5 s: nothing expires during a case.
    Long(Duration),
    /// 1–5 ms: expires during the case (see "volatile" in the module docs).
    Short(u64),
    /// `STORE_TTL_INVALID`.
    Zero,
    /// Over 100 years: `STORE_TTL_INVALID`.
    TooLong(bool),
}

impl Ttl {
    fn duration(self) -> Duration {
        match self {
            Ttl::Long(d) => d,
            Ttl::Short(ms) => Duration::from_millis(ms),
            Ttl::Zero => Duration::ZERO,
            Ttl::TooLong(true) => Duration::MAX,
            Ttl::TooLong(false) => Duration::from_secs(100 * 365 * 24 * 3600 + 1),
        }
    }

    fn short(self) -> Option<Duration> {
        match self {
            Ttl::Short(ms) => Some(Duration::from_millis(ms)),
            _ => None,
        }
    }
}

/// A reference to a stream id, resolved on each side to that side's id.
#[derive(Debug, Clone, PartialEq)]
enum IdRef {
    /// The n-th entry appended to this stream (modulo how many were), or
    /// `0-1` if none was.
    Nth(usize),
    /// `(` + the n-th entry: exclusive.
    Excl(usize),
    /// As written: `-`, `+`, `0`, `0-0`, `$`, or something invalid.
    Lit(&'static str),
    /// The n-th entry the last read or reclaim of this stream returned
    /// (modulo how many), or `0-1`.
    LastRead(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    // kv
    Set {
        h: usize,
        key: String,
        value: Value,
        ttl: Option<Ttl>,
    },
    Get {
        h: usize,
        key: String,
    },
    Exists {
        h: usize,
        key: String,
    },
    Remove {
        h: usize,
        key: String,
    },
    Expire {
        h: usize,
        key: String,
        ttl: Ttl,
        touch: bool,
    },
    TtlOf {
        h: usize,
        key: String,
    },
    Persist {
        h: usize,
        key: String,
    },
    // counters
    Incr {
        h: usize,
        key: String,
        delta: i64,
        ttl: Option<Ttl>,
        decrement: bool,
    },
    CounterGet {
        h: usize,
        key: String,
    },
    CounterExpire {
        h: usize,
        key: String,
        ttl: Ttl,
    },
    CounterRemove {
        h: usize,
        key: String,
    },
    /// Another client writes raw bytes at a counter's key.
    RawCounter {
        h: usize,
        key: String,
        raw: &'static str,
    },
    // claims
    Once {
        h: usize,
        key: String,
        owner: u8,
        ttl: Ttl,
    },
    Release {
        h: usize,
        key: String,
        owner: u8,
    },
    Acquire {
        h: usize,
        key: String,
        ttl: Ttl,
    },
    ClaimRelease {
        idx: usize,
    },
    ClaimExtend {
        idx: usize,
        ttl: Ttl,
    },
    // batches
    BatchSet {
        h: usize,
        entries: Vec<(String, Value, Option<Ttl>)>,
    },
    BatchGet {
        h: usize,
        keys: Vec<String>,
    },
    // scans and purges
    Scan {
        h: usize,
        pattern: String,
        count: usize,
    },
    Purge {
        h: usize,
    },
    /// Another client writes a stream at a kv, counter or claim key.
    StreamAtKey {
        h: usize,
        ns: RawNs,
        key: String,
    },
    // streams
    Append {
        h: usize,
        stream: usize,
        value: Value,
        max_len: Option<u64>,
    },
    /// An entry another client wrote: not JSON, or not UTF-8.
    RawAppend {
        h: usize,
        stream: usize,
        data: &'static [u8],
    },
    /// A string at a stream's key.
    StringAtStream {
        h: usize,
        stream: usize,
    },
    Range {
        h: usize,
        stream: usize,
        start: IdRef,
        end: IdRef,
        count: Option<usize>,
        reverse: bool,
    },
    Len {
        h: usize,
        stream: usize,
    },
    Trim {
        h: usize,
        stream: usize,
        max_len: u64,
    },
    Ensure {
        h: usize,
        stream: usize,
        group: usize,
        start: IdRef,
    },
    Read {
        h: usize,
        stream: usize,
        group: usize,
        consumer: usize,
        count: Option<usize>,
        block: bool,
    },
    Ack {
        h: usize,
        stream: usize,
        group: usize,
        ids: Vec<IdRef>,
    },
    Pending {
        h: usize,
        stream: usize,
        group: usize,
    },
    PendingEntries {
        h: usize,
        stream: usize,
        group: usize,
        consumer: usize,
        mine: bool,
        count: usize,
    },
    Reclaim {
        h: usize,
        stream: usize,
        group: usize,
        consumer: usize,
        all: bool,
        count: usize,
    },
    RemoveConsumer {
        h: usize,
        stream: usize,
        group: usize,
        consumer: usize,
    },
    Groups {
        h: usize,
        stream: usize,
    },
    Consumers {
        h: usize,
        stream: usize,
        group: usize,
    },
    Delete {
        h: usize,
        stream: usize,
        ids: Vec<IdRef>,
    },
    /// `Group::claim` of `ids`, with a `min_idle` of 0 or an hour (idle
    /// times race the two clocks).
    ClaimIds {
        h: usize,
        stream: usize,
        group: usize,
        consumer: usize,
        ids: Vec<IdRef>,
        all: bool,
    },
    Move {
        h: usize,
        from: usize,
        id: IdRef,
        to: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawNs {
    Kv,
    Counter,
    Claim,
}

const STREAMS: [&str; 2] = ["jobs", "a*[b]:c"];
const GROUPS: [&str; 2] = ["g1", "g2"];
const CONSUMERS: [&str; 3] = ["c1", "c2", "c:3"];

/// Keys that collide often and make glob patterns interesting.
const KEYS: &[&str] = &[
    "a", "b", "ab", "user:1", "user:2", "user:10", "x*y", "[a]", "a\\b", "ü", "k:kv:z", "-", "^",
    "?", "é:1", "a]", "\\",
];

/// The characters of random keys and patterns: glob syntax, separators, and
/// bytes above 0x7f (signed in Redis's range comparisons).
const GLOB_CHARS: &[char] = &[
    'a', 'b', 'u', ':', '1', '0', '*', '?', '[', ']', '^', '-', '\\', 'ü', 'é',
];

/// Raw counter values another client may write: integers as Redis parses
/// them, and everything it refuses.
const RAW_COUNTERS: &[&str] = &[
    "0",
    "-0",
    "7",
    "-7",
    "007",
    "+5",
    " 5",
    "5 ",
    "5.0",
    "1e3",
    "0x1f",
    "١٢",
    "",
    "abc",
    "\"5\"",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "-9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "99999999999999999999",
    "-99999999999999999999",
    "00000000000000000001",
];

const RAW_ENTRIES: &[&[u8]] = &[
    b"not json",
    b"",
    b"\xff\xfe",
    b"{\"a\":",
    b"  42  ",
    b"null",
];

fn values() -> impl Strategy<Value = Value> + Clone {
    select(vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e300),
        json!("s"),
        json!(""),
        json!("ü\u{0}\n"),
        json!("12"),
        json!([1, "two", null]),
        json!({"a": 1, "b": {"c": []}}),
    ])
}

fn random_string(chars: &'static [char], len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(select(chars), len)
        .prop_map(|cs| cs.into_iter().collect())
        .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        // a few keys most of the time, so operations meet each other's keys
        24 => select(&KEYS[..3]).prop_map(|k: &str| k.to_owned()),
        8 => select(KEYS).prop_map(|k: &str| k.to_owned()),
        3 => random_string(GLOB_CHARS, 1..5),
        // an empty key: STORE_KEY_REQUIRED on both sides
        1 => Just(String::new()),
    ]
    .boxed()
}

fn pattern() -> BoxedStrategy<String> {
    prop_oneof![
        3 => random_string(GLOB_CHARS, 0..7),
        1 => select(vec!["*", "user:*", "user:?", "user:[0-9]*", "[^a]*", "*\\", "[", "a[", "\\*", "*:*"])
            .prop_map(|p: &str| p.to_owned()),
    ]
    .boxed()
}

fn ttl(short: bool) -> BoxedStrategy<Ttl> {
    let long = (5_000_000u64..600_000_000).prop_map(|us| Ttl::Long(Duration::from_micros(us)));
    if short {
        prop_oneof![
            12 => long,
            3 => (1u64..=5).prop_map(Ttl::Short),
            1 => Just(Ttl::Zero),
            1 => any::<bool>().prop_map(Ttl::TooLong),
        ]
        .boxed()
    } else {
        prop_oneof![
            12 => long,
            1 => Just(Ttl::Zero),
            1 => any::<bool>().prop_map(Ttl::TooLong),
        ]
        .boxed()
    }
}

fn delta() -> BoxedStrategy<i64> {
    prop_oneof![
        6 => -3i64..=3,
        1 => select(vec![i64::MAX, i64::MIN, i64::MAX / 2 + 1, i64::MIN / 2 - 1, 1 << 62, -(1 << 62)]),
        1 => any::<i64>(),
    ]
    .boxed()
}

fn id_ref() -> BoxedStrategy<IdRef> {
    prop_oneof![
        4 => (0usize..8).prop_map(IdRef::Nth),
        3 => (0usize..4).prop_map(IdRef::LastRead),
        1 => (0usize..8).prop_map(IdRef::Excl),
        2 => select(vec!["-", "+", "0", "0-0", "0-1", "99999999999999-0", "x", "1-", "-1", "(+", "18446744073709551615-18446744073709551615"])
            .prop_map(IdRef::Lit),
    ]
    .boxed()
}

/// A handle, mostly the first.
fn h() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![6 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize), 1 => Just(3usize)]
}

fn kv_op(short: bool) -> BoxedStrategy<Op> {
    let t = move || ttl(short);
    prop_oneof![
        8 => (h(), key(), values(), prop::option::weighted(0.4, t()))
            .prop_map(|(h, key, value, ttl)| Op::Set { h, key, value, ttl }),
        5 => (h(), key()).prop_map(|(h, key)| Op::Get { h, key }),
        2 => (h(), key()).prop_map(|(h, key)| Op::Exists { h, key }),
        2 => (h(), key()).prop_map(|(h, key)| Op::Remove { h, key }),
        2 => (h(), key(), t(), any::<bool>())
            .prop_map(|(h, key, ttl, touch)| Op::Expire { h, key, ttl, touch }),
        2 => (h(), key()).prop_map(|(h, key)| Op::TtlOf { h, key }),
        2 => (h(), key()).prop_map(|(h, key)| Op::Persist { h, key }),
        6 => (h(), key(), delta(), prop::option::weighted(0.3, t()), any::<bool>())
            .prop_map(|(h, key, delta, ttl, decrement)| Op::Incr { h, key, delta, ttl, decrement }),
        2 => (h(), key()).prop_map(|(h, key)| Op::CounterGet { h, key }),
        1 => (h(), key(), t()).prop_map(|(h, key, ttl)| Op::CounterExpire { h, key, ttl }),
        1 => (h(), key()).prop_map(|(h, key)| Op::CounterRemove { h, key }),
        2 => (h(), key(), select(RAW_COUNTERS))
            .prop_map(|(h, key, raw)| Op::RawCounter { h, key, raw }),
        3 => (h(), key(), 0u8..3, t()).prop_map(|(h, key, owner, ttl)| Op::Once { h, key, owner, ttl }),
        2 => (h(), key(), 0u8..3).prop_map(|(h, key, owner)| Op::Release { h, key, owner }),
        3 => (h(), key(), t()).prop_map(|(h, key, ttl)| Op::Acquire { h, key, ttl }),
        2 => (0usize..8).prop_map(|idx| Op::ClaimRelease { idx }),
        2 => (0usize..8, t()).prop_map(|(idx, ttl)| Op::ClaimExtend { idx, ttl }),
        3 => (h(), prop::collection::vec((key(), values(), prop::option::weighted(0.3, t())), 0..5))
            .prop_map(|(h, entries)| Op::BatchSet { h, entries }),
        3 => (h(), prop::collection::vec(key(), 0..6)).prop_map(|(h, keys)| Op::BatchGet { h, keys }),
        3 => (h(), pattern(), 5usize..50).prop_map(|(h, pattern, count)| Op::Scan { h, pattern, count }),
        1 => h().prop_map(|h| Op::Purge { h }),
        1 => (h(), select(vec![RawNs::Kv, RawNs::Counter, RawNs::Claim]), key())
            .prop_map(|(h, ns, key)| Op::StreamAtKey { h, ns, key }),
    ]
    .boxed()
}

fn stream_op() -> BoxedStrategy<Op> {
    // mostly the first stream and group, so operations meet
    let s = || prop_oneof![4 => Just(0usize), 1 => Just(1usize)];
    let g = || prop_oneof![3 => Just(0usize), 1 => Just(1usize)];
    let c = || 0usize..CONSUMERS.len();
    prop_oneof![
        30 => (h(), s(), values(), prop::option::weighted(0.15, 0u64..5))
            .prop_map(|(h, stream, value, max_len)| Op::Append { h, stream, value, max_len }),
        1 => (h(), s(), select(RAW_ENTRIES)).prop_map(|(h, stream, data)| Op::RawAppend { h, stream, data }),
        1 => (h(), s()).prop_map(|(h, stream)| Op::StringAtStream { h, stream }),
        12 => (h(), s(), id_ref(), id_ref(), prop::option::weighted(0.4, 0usize..5), any::<bool>())
            .prop_map(|(h, stream, start, end, count, reverse)| Op::Range { h, stream, start, end, count, reverse }),
        3 => (h(), s()).prop_map(|(h, stream)| Op::Len { h, stream }),
        3 => (h(), s(), 0u64..5).prop_map(|(h, stream, max_len)| Op::Trim { h, stream, max_len }),
        9 => (h(), s(), g(), prop_oneof![3 => Just(IdRef::Lit("0")), 2 => Just(IdRef::Lit("$")), 2 => id_ref()])
            .prop_map(|(h, stream, group, start)| Op::Ensure { h, stream, group, start }),
        18 => (h(), s(), g(), c(), prop::option::weighted(0.5, 1usize..4), prop::bool::weighted(0.05))
            .prop_map(|(h, stream, group, consumer, count, block)| Op::Read { h, stream, group, consumer, count, block }),
        12 => (h(), s(), g(), prop::collection::vec(id_ref(), 0..4))
            .prop_map(|(h, stream, group, ids)| Op::Ack { h, stream, group, ids }),
        6 => (h(), s(), g()).prop_map(|(h, stream, group)| Op::Pending { h, stream, group }),
        6 => (h(), s(), g(), c(), any::<bool>(), 1usize..10)
            .prop_map(|(h, stream, group, consumer, mine, count)| Op::PendingEntries { h, stream, group, consumer, mine, count }),
        6 => (h(), s(), g(), c(), any::<bool>(), 1usize..5)
            .prop_map(|(h, stream, group, consumer, all, count)| Op::Reclaim { h, stream, group, consumer, all, count }),
        3 => (h(), s(), g(), c()).prop_map(|(h, stream, group, consumer)| Op::RemoveConsumer { h, stream, group, consumer }),
        4 => (h(), s()).prop_map(|(h, stream)| Op::Groups { h, stream }),
        3 => (h(), s(), g()).prop_map(|(h, stream, group)| Op::Consumers { h, stream, group }),
        4 => (h(), s(), prop::collection::vec(id_ref(), 0..3))
            .prop_map(|(h, stream, ids)| Op::Delete { h, stream, ids }),
        5 => (h(), s(), g(), c(), prop::collection::vec(id_ref(), 0..4), any::<bool>())
            .prop_map(|(h, stream, group, consumer, ids, all)| Op::ClaimIds { h, stream, group, consumer, ids, all }),
        3 => (h(), s(), id_ref(), s()).prop_map(|(h, from, id, to)| Op::Move { h, from, id, to }),
        1 => h().prop_map(|h| Op::Purge { h }),
    ]
    .boxed()
}

// --------------------------------------------------------------- observations

#[derive(Debug, Clone, PartialEq)]
enum Obs {
    Done,
    Bool(bool),
    Int(i64),
    Count(u64),
    Value(Option<Value>),
    Values(Vec<Option<Value>>),
    Ttl(KeyTtl),
    Keys(BTreeSet<String>),
    /// An acquire: `None` when the claim was held, else whether the token is
    /// above every earlier token of the key on this side.
    Token(Option<bool>),
    /// A stream entry: the ordinal of the append that made it, and its
    /// message.
    Entries(Vec<(Option<usize>, Result<Value, ErrorCode>)>),
    Ordinal(Option<usize>),
    Summary {
        count: u64,
        min: Option<usize>,
        max: Option<usize>,
        consumers: Vec<(String, u64)>,
    },
    Pending(Vec<(Option<usize>, String, u64)>),
    Groups(Vec<GroupObs>),
    /// `Group::consumers`: name and pending count (idle times race the clocks).
    Consumers(Vec<(String, u64)>),
    /// The operation had nothing to act on (no claim yet): not run.
    Nothing,
}

/// One group of `Streams::groups`: name, consumers, pending, the ordinal of
/// the last delivered entry, lag.
type GroupObs = (String, u64, u64, Option<usize>, Option<u64>);

type Out = Result<Obs, ErrorCode>;

fn same(a: &Out, b: &Out) -> bool {
    match (a, b) {
        (Ok(Obs::Ttl(KeyTtl::Expires(x))), Ok(Obs::Ttl(KeyTtl::Expires(y)))) => {
            x.abs_diff(*y) <= TTL_TOLERANCE
        }
        _ => a == b,
    }
}

fn code<T>(r: StoreResult<T>, f: impl FnOnce(T) -> Obs) -> Out {
    r.map(f).map_err(|e| e.code())
}

// ---------------------------------------------------------------------- sides

/// One side of the comparison: a store and what the test remembers of it.
struct Side {
    handles: Vec<Handle>,
    claims: Vec<(Claim, String)>,
    /// The largest fencing token seen for each claim key (by full key), kept
    /// across purges: tokens must grow across them too.
    tokens: HashMap<String, u64>,
    /// The ids appended to each stream (by full key), in order.
    streams: HashMap<String, Vec<String>>,
    /// (full key, id) -> the ordinal of the append that made it.
    ordinals: HashMap<(String, String), usize>,
    next_ordinal: usize,
    /// The ids the last read or reclaim of each stream returned (an id of
    /// another stream would compare with this stream's ids by the clock).
    last_read: HashMap<String, Vec<String>>,
}

impl Side {
    fn new(root: &Store<Tenant>) -> Self {
        Side {
            handles: handles(root),
            claims: Vec::new(),
            tokens: HashMap::new(),
            streams: HashMap::new(),
            ordinals: HashMap::new(),
            next_ordinal: 0,
            last_read: HashMap::new(),
        }
    }

    fn h(&self, h: usize) -> Handle {
        self.handles[h].clone()
    }

    fn record_append(&mut self, key: &str, id: &str) -> usize {
        let n = self.next_ordinal;
        self.next_ordinal += 1;
        self.streams
            .entry(key.to_owned())
            .or_default()
            .push(id.to_owned());
        self.ordinals.insert((key.to_owned(), id.to_owned()), n);
        n
    }

    fn ordinal(&self, key: &str, id: &str) -> Option<usize> {
        self.ordinals.get(&(key.to_owned(), id.to_owned())).copied()
    }

    fn resolve(&self, key: &str, r: &IdRef) -> String {
        let nth = |n: usize| {
            self.streams
                .get(key)
                .filter(|ids| !ids.is_empty())
                .map(|ids| ids[n % ids.len()].clone())
        };
        match r {
            IdRef::Nth(n) => nth(*n).unwrap_or_else(|| "0-1".to_owned()),
            IdRef::Excl(n) => format!("({}", nth(*n).unwrap_or_else(|| "0-1".to_owned())),
            IdRef::Lit(s) => (*s).to_owned(),
            IdRef::LastRead(n) => self
                .last_read
                .get(key)
                .filter(|ids| !ids.is_empty())
                .map(|ids| ids[n % ids.len()].clone())
                .unwrap_or_else(|| "0-1".to_owned()),
        }
    }

    /// Read or reclaimed entries, remembered for [`IdRef::LastRead`].
    fn delivered(
        &mut self,
        key: &str,
        entries: Vec<igniter_store::streams::StreamEntry<Value>>,
    ) -> Obs {
        self.last_read.insert(
            key.to_owned(),
            entries.iter().map(|e| e.id.clone()).collect(),
        );
        self.entries(key, entries)
    }

    fn entries(&self, key: &str, entries: Vec<igniter_store::streams::StreamEntry<Value>>) -> Obs {
        Obs::Entries(
            entries
                .into_iter()
                .map(|e| (self.ordinal(key, &e.id), e.data.map_err(|e| e.code())))
                .collect(),
        )
    }
}

fn stream_key(s: &Handle, stream: usize) -> String {
    s.streams().key(STREAMS[stream]).unwrap()
}

fn owner(o: u8) -> String {
    format!("owner-{o}")
}

async fn apply(side: &mut Side, op: &Op) -> Out {
    match op {
        Op::Set { h, key, value, ttl } => {
            let s = side.h(*h);
            let set = s.kv().set(key, value);
            let r = match ttl {
                Some(t) => set.ttl(t.duration()).await,
                None => set.await,
            };
            code(r, |()| Obs::Done)
        }
        Op::Get { h, key } => code(side.h(*h).kv().get::<Value>(key).await, Obs::Value),
        Op::Exists { h, key } => code(side.h(*h).kv().exists(key).await, Obs::Bool),
        Op::Remove { h, key } => code(side.h(*h).kv().remove(key).await, Obs::Bool),
        Op::Expire { h, key, ttl, touch } => {
            let s = side.h(*h);
            let r = if *touch {
                s.kv().touch(key, ttl.duration()).await
            } else {
                s.kv().expire(key, ttl.duration()).await
            };
            code(r, Obs::Bool)
        }
        Op::TtlOf { h, key } => code(side.h(*h).kv().ttl(key).await, Obs::Ttl),
        Op::Persist { h, key } => code(side.h(*h).kv().persist(key).await, Obs::Bool),
        Op::Incr {
            h,
            key,
            delta,
            ttl,
            decrement,
        } => {
            let s = side.h(*h);
            let c = s.counter();
            let inc = if *decrement {
                c.decrement_by(key, *delta)
            } else {
                c.increment_by(key, *delta)
            };
            let r = match ttl {
                Some(t) => inc.ttl_on_create(t.duration()).await,
                None => inc.await,
            };
            code(r, Obs::Int)
        }
        Op::CounterGet { h, key } => code(side.h(*h).counter().get(key).await, Obs::Int),
        Op::CounterExpire { h, key, ttl } => code(
            side.h(*h).counter().expire(key, ttl.duration()).await,
            Obs::Bool,
        ),
        Op::CounterRemove { h, key } => code(side.h(*h).counter().remove(key).await, Obs::Bool),
        Op::RawCounter { h, key, raw } => {
            let s = side.h(*h);
            match s.counter().key(key) {
                Ok(full) => code(
                    s.adapter()
                        .set(
                            &full,
                            Bytes::from_static(raw.as_bytes()),
                            SetOptions::default(),
                        )
                        .await,
                    Obs::Bool,
                ),
                Err(e) => Err(e.code()),
            }
        }
        Op::Once {
            h,
            key,
            owner: o,
            ttl,
        } => code(
            side.h(*h)
                .claim()
                .once(key, &owner(*o), ttl.duration())
                .await,
            Obs::Bool,
        ),
        Op::Release { h, key, owner: o } => {
            code(side.h(*h).claim().release(key, &owner(*o)).await, Obs::Bool)
        }
        Op::Acquire { h, key, ttl } => {
            let s = side.h(*h);
            match s.claim().acquire(key, ttl.duration()).await {
                Ok(Some(claim)) => {
                    let token = claim.token();
                    let full = s.claim().key(key).unwrap();
                    let last = side.tokens.entry(full.clone()).or_insert(0);
                    let grew = token > *last;
                    *last = (*last).max(token);
                    side.claims.push((claim, full));
                    Ok(Obs::Token(Some(grew)))
                }
                Ok(None) => Ok(Obs::Token(None)),
                Err(e) => Err(e.code()),
            }
        }
        Op::ClaimRelease { idx } => match side.claims.get(idx % side.claims.len().max(1)) {
            Some((claim, _)) => code(claim.release().await, Obs::Bool),
            None => Ok(Obs::Nothing),
        },
        Op::ClaimExtend { idx, ttl } => match side.claims.get(idx % side.claims.len().max(1)) {
            Some((claim, _)) => code(claim.extend(ttl.duration()).await, Obs::Bool),
            None => Ok(Obs::Nothing),
        },
        Op::BatchSet { h, entries } => {
            let s = side.h(*h);
            let batch = entries.iter().map(|(k, v, t)| {
                let e = BatchEntry::new(k.as_str(), v);
                match t {
                    Some(t) => e.ttl(t.duration()),
                    None => e,
                }
            });
            code(s.batch().set(batch).await, |()| Obs::Done)
        }
        Op::BatchGet { h, keys } => {
            code(side.h(*h).batch().get::<Value, _>(keys).await, Obs::Values)
        }
        Op::Scan { h, pattern, count } => {
            let s = side.h(*h);
            let all: StoreResult<BTreeSet<String>> = s.dev().scan_all(pattern).try_collect().await;
            let all = match all {
                Ok(all) => all,
                Err(e) => return Err(e.code()),
            };
            // and page by page, following the cursor to the end
            let mut paged = BTreeSet::new();
            let mut cursor = ScanCursor::start();
            for _ in 0..10_000 {
                let page = match s.dev().scan(pattern).count(*count).cursor(cursor).await {
                    Ok(page) => page,
                    Err(e) => return Err(e.code()),
                };
                paged.extend(page.keys);
                match page.cursor {
                    Some(next) => cursor = next,
                    None => break,
                }
            }
            if paged != all {
                // reported as a mismatch between the two scans of one side
                return Ok(Obs::Keys(
                    all.symmetric_difference(&paged)
                        .map(|k| format!("scan_all and paged scan disagree on {k:?}"))
                        .collect(),
                ));
            }
            Ok(Obs::Keys(all))
        }
        Op::Purge { h } => {
            let r = side.h(*h).purge().await;
            side.streams.clear();
            side.ordinals.clear();
            side.last_read.clear();
            code(r, Obs::Count)
        }
        Op::StreamAtKey { h, ns, key } => {
            let s = side.h(*h);
            let full = match ns {
                RawNs::Kv => s.kv().key(key),
                RawNs::Counter => s.counter().key(key),
                RawNs::Claim => s.claim().key(key),
            };
            match full {
                Ok(full) => code(
                    s.adapter()
                        .xadd(&full, Bytes::from_static(b"1"), None)
                        .await,
                    |_| Obs::Done,
                ),
                Err(e) => Err(e.code()),
            }
        }
        Op::Append {
            h,
            stream,
            value,
            max_len,
        } => {
            let s = side.h(*h);
            let append = s.streams().append(STREAMS[*stream], value);
            let r = match max_len {
                Some(n) => append.max_len(*n).await,
                None => append.await,
            };
            match r {
                Ok(id) => {
                    let key = stream_key(&s, *stream);
                    Ok(Obs::Ordinal(Some(side.record_append(&key, &id))))
                }
                Err(e) => Err(e.code()),
            }
        }
        Op::RawAppend { h, stream, data } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            match s.adapter().xadd(&key, Bytes::from_static(data), None).await {
                Ok(id) => Ok(Obs::Ordinal(Some(side.record_append(&key, &id)))),
                Err(e) => Err(e.code()),
            }
        }
        Op::StringAtStream { h, stream } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            code(
                s.adapter()
                    .set(&key, Bytes::from_static(b"\"x\""), SetOptions::default())
                    .await,
                Obs::Bool,
            )
        }
        Op::Range {
            h,
            stream,
            start,
            end,
            count,
            reverse,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let mut range = s
                .streams()
                .range::<Value>(STREAMS[*stream])
                .start(side.resolve(&key, start))
                .end(side.resolve(&key, end));
            if let Some(n) = count {
                range = range.count(*n);
            }
            if *reverse {
                range = range.reverse();
            }
            match range.await {
                Ok(entries) => Ok(side.entries(&key, entries)),
                Err(e) => Err(e.code()),
            }
        }
        Op::Len { h, stream } => code(side.h(*h).streams().len(STREAMS[*stream]).await, Obs::Count),
        Op::Trim { h, stream, max_len } => code(
            side.h(*h)
                .streams()
                .trim(STREAMS[*stream], *max_len, false)
                .await,
            Obs::Count,
        ),
        Op::Ensure {
            h,
            stream,
            group,
            start,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            code(
                s.streams()
                    .group(GROUPS[*group], "c1")
                    .ensure(STREAMS[*stream])
                    .start_id(side.resolve(&key, start))
                    .await,
                Obs::Bool,
            )
        }
        Op::Read {
            h,
            stream,
            group,
            consumer,
            count,
            block,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let streams = s.streams();
            let g = streams.group(GROUPS[*group], CONSUMERS[*consumer]);
            let mut read = g.read::<Value>(STREAMS[*stream]);
            if let Some(n) = count {
                read = read.count(*n);
            }
            if *block {
                read = read.block(Duration::from_millis(5));
            }
            match read.await {
                Ok(entries) => Ok(side.delivered(&key, entries)),
                Err(e) => Err(e.code()),
            }
        }
        Op::Ack {
            h,
            stream,
            group,
            ids,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let ids: Vec<String> = ids.iter().map(|r| side.resolve(&key, r)).collect();
            code(
                s.streams()
                    .group(GROUPS[*group], "c1")
                    .ack(STREAMS[*stream], &ids)
                    .await,
                Obs::Count,
            )
        }
        Op::Pending { h, stream, group } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            match s
                .streams()
                .group(GROUPS[*group], "c1")
                .pending(STREAMS[*stream])
                .await
            {
                Ok(p) => Ok(Obs::Summary {
                    count: p.count,
                    min: p.min_id.as_deref().and_then(|id| side.ordinal(&key, id)),
                    max: p.max_id.as_deref().and_then(|id| side.ordinal(&key, id)),
                    consumers: p.consumers,
                }),
                Err(e) => Err(e.code()),
            }
        }
        Op::PendingEntries {
            h,
            stream,
            group,
            consumer,
            mine,
            count,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let streams = s.streams();
            let g = streams.group(GROUPS[*group], CONSUMERS[*consumer]);
            let mut q = g.pending_entries(STREAMS[*stream]).count(*count);
            if *mine {
                q = q.mine();
            }
            match q.await {
                Ok(entries) => Ok(Obs::Pending(
                    entries
                        .into_iter()
                        .map(|p| (side.ordinal(&key, &p.id), p.consumer, p.deliveries))
                        .collect(),
                )),
                Err(e) => Err(e.code()),
            }
        }
        Op::Reclaim {
            h,
            stream,
            group,
            consumer,
            all,
            count,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            // idle times race the two clocks: claim everything, or nothing
            let min_idle = if *all {
                Duration::ZERO
            } else {
                Duration::from_secs(3600)
            };
            let streams = s.streams();
            let g = streams.group(GROUPS[*group], CONSUMERS[*consumer]);
            match g
                .reclaim::<Value>(STREAMS[*stream], min_idle)
                .count(*count)
                .await
            {
                Ok(entries) => Ok(side.delivered(&key, entries)),
                Err(e) => Err(e.code()),
            }
        }
        Op::RemoveConsumer {
            h,
            stream,
            group,
            consumer,
        } => code(
            side.h(*h)
                .streams()
                .group(GROUPS[*group], CONSUMERS[*consumer])
                .remove_consumer(STREAMS[*stream])
                .await,
            Obs::Count,
        ),
        Op::Groups { h, stream } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            match s.streams().groups(STREAMS[*stream]).await {
                Ok(groups) => Ok(Obs::Groups(
                    groups
                        .into_iter()
                        .map(|g| {
                            let last = side.ordinal(&key, &g.last_delivered_id);
                            (g.name, g.consumers, g.pending, last, g.lag)
                        })
                        .collect(),
                )),
                Err(e) => Err(e.code()),
            }
        }
        Op::Consumers { h, stream, group } => code(
            side.h(*h)
                .streams()
                .group(GROUPS[*group], "c1")
                .consumers(STREAMS[*stream])
                .await,
            |consumers| {
                Obs::Consumers(consumers.into_iter().map(|c| (c.name, c.pending)).collect())
            },
        ),
        Op::Delete { h, stream, ids } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let ids: Vec<String> = ids.iter().map(|r| side.resolve(&key, r)).collect();
            code(s.streams().delete(STREAMS[*stream], &ids).await, Obs::Count)
        }
        Op::ClaimIds {
            h,
            stream,
            group,
            consumer,
            ids,
            all,
        } => {
            let s = side.h(*h);
            let key = stream_key(&s, *stream);
            let ids: Vec<String> = ids.iter().map(|r| side.resolve(&key, r)).collect();
            let min_idle = if *all {
                Duration::ZERO
            } else {
                Duration::from_secs(3600)
            };
            let streams = s.streams();
            let g = streams.group(GROUPS[*group], CONSUMERS[*consumer]);
            match g.claim::<Value>(STREAMS[*stream], &ids, min_idle).await {
                Ok(entries) => Ok(side.delivered(&key, entries)),
                Err(e) => Err(e.code()),
            }
        }
        Op::Move { h, from, id, to } => {
            let s = side.h(*h);
            let (from_key, to_key) = (stream_key(&s, *from), stream_key(&s, *to));
            let id = side.resolve(&from_key, id);
            match s
                .streams()
                .move_entry(STREAMS[*from], &id, STREAMS[*to])
                .await
            {
                // the moved entry is a new append of the target
                Ok(Some(new_id)) => Ok(Obs::Ordinal(Some(side.record_append(&to_key, &new_id)))),
                Ok(None) => Ok(Obs::Ordinal(None)),
                Err(e) => Err(e.code()),
            }
        }
    }
}

// ----------------------------------------------------------------- volatility

/// What an operation touches, for the wait on volatile keys.
enum Touch {
    Keys(Vec<String>),
    All,
}

fn touches(side: &Side, op: &Op) -> Touch {
    let kv = |h: &usize, k: &str| side.handles[*h].kv().key(k).ok();
    let counter = |h: &usize, k: &str| side.handles[*h].counter().key(k).ok();
    let claim = |h: &usize, k: &str| side.handles[*h].claim().key(k).ok();
    let keys: Vec<Option<String>> = match op {
        Op::Set { h, key, .. }
        | Op::Get { h, key }
        | Op::Exists { h, key }
        | Op::Remove { h, key }
        | Op::Expire { h, key, .. }
        | Op::TtlOf { h, key }
        | Op::Persist { h, key } => vec![kv(h, key)],
        Op::Incr { h, key, .. }
        | Op::CounterGet { h, key }
        | Op::CounterExpire { h, key, .. }
        | Op::CounterRemove { h, key }
        | Op::RawCounter { h, key, .. } => vec![counter(h, key)],
        Op::Once { h, key, .. } | Op::Release { h, key, .. } | Op::Acquire { h, key, .. } => {
            vec![claim(h, key)]
        }
        Op::ClaimRelease { idx } | Op::ClaimExtend { idx, .. } => {
            vec![
                side.claims
                    .get(idx % side.claims.len().max(1))
                    .map(|(_, k)| k.clone()),
            ]
        }
        Op::StreamAtKey { h, ns, key } => vec![match ns {
            RawNs::Kv => kv(h, key),
            RawNs::Counter => counter(h, key),
            RawNs::Claim => claim(h, key),
        }],
        Op::BatchSet { .. } | Op::BatchGet { .. } | Op::Scan { .. } | Op::Purge { .. } => {
            return Touch::All;
        }
        // streams never get a TTL
        _ => Vec::new(),
    };
    Touch::Keys(keys.into_iter().flatten().collect())
}

/// The keys an operation may leave with a short TTL, and that TTL.
fn volatile_after(side: &Side, op: &Op) -> Vec<(String, Duration)> {
    let mut out = Vec::new();
    let mut add = |key: StoreResult<String>, ttl: Option<&Ttl>| {
        if let (Ok(key), Some(d)) = (key, ttl.and_then(|t| t.short())) {
            out.push((key, d));
        }
    };
    match op {
        Op::Set { h, key, ttl, .. } => add(side.handles[*h].kv().key(key), ttl.as_ref()),
        Op::Expire { h, key, ttl, .. } => add(side.handles[*h].kv().key(key), Some(ttl)),
        Op::Incr { h, key, ttl, .. } => add(side.handles[*h].counter().key(key), ttl.as_ref()),
        Op::CounterExpire { h, key, ttl } => add(side.handles[*h].counter().key(key), Some(ttl)),
        Op::Once { h, key, ttl, .. } | Op::Acquire { h, key, ttl } => {
            add(side.handles[*h].claim().key(key), Some(ttl))
        }
        Op::ClaimExtend { idx, ttl } => {
            if let Some((_, k)) = side.claims.get(idx % side.claims.len().max(1)) {
                add(Ok(k.clone()), Some(ttl));
            }
        }
        Op::BatchSet { h, entries } => {
            for (k, _, t) in entries {
                add(side.handles[*h].kv().key(k), t.as_ref());
            }
        }
        _ => {}
    }
    out
}

/// Waits until every volatile key `op` touches has expired on both sides.
async fn settle(volatile: &mut BTreeMap<String, Instant>, side: &Side, op: &Op) {
    const MARGIN: Duration = Duration::from_millis(4);
    let due: Vec<String> = match touches(side, op) {
        Touch::All => volatile.keys().cloned().collect(),
        Touch::Keys(keys) => keys
            .into_iter()
            .filter(|k| volatile.contains_key(k))
            .collect(),
    };
    let mut until = None;
    for key in due {
        if let Some(at) = volatile.remove(&key) {
            until = until.max(Some(at + MARGIN));
        }
    }
    if let Some(until) = until {
        tokio::time::sleep_until(until.into()).await;
    }
}

// ----------------------------------------------------------------- the runner

struct Harness {
    runtime: tokio::runtime::Runtime,
    redis: Backend,
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = support::shared().url();
    let redis = runtime
        .block_on(async { Backend::new(RedisAdapter::connect(&url).await.expect("connect")) });
    Harness { runtime, redis }
}

fn service() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "diff{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn store(adapter: Backend, service: &str) -> Store<Tenant> {
    Store::builder()
        .shared_adapter(adapter)
        .service(service)
        .scopes::<Tenant>()
        .build()
        .unwrap()
}

/// Every key of the service, with its raw value (or the code reading it
/// gives) and TTL class, straight from the adapter.
async fn dump(
    adapter: &dyn igniter_store::adapter::DynStoreAdapter,
    service: &str,
) -> BTreeMap<String, String> {
    let pattern = format!(
        "igniter:store:{}:*",
        igniter_store::key::escape_glob(service)
    );
    let mut keys = BTreeSet::new();
    let mut cursor = ScanCursor::start();
    loop {
        let page = adapter.scan(&cursor, &pattern, 1000).await.unwrap();
        keys.extend(
            page.keys
                .iter()
                .map(|k| String::from_utf8(k.to_vec()).expect("the store writes UTF-8 keys")),
        );
        if page.cursor.is_done() {
            break;
        }
        cursor = page.cursor;
    }
    let mut out = BTreeMap::new();
    for key in keys {
        let value = match adapter.get(&key).await {
            Ok(Some(v)) => format!("{:?}", String::from_utf8_lossy(&v)),
            Ok(None) => "(gone)".to_owned(),
            Err(e) => match adapter.xlen(&key).await {
                Ok(n) => format!("stream of {n}"),
                Err(_) => format!("error {}", e.code()),
            },
        };
        let ttl = match adapter.pttl(&key).await {
            Ok(KeyTtl::Expires(_)) => "expires",
            Ok(KeyTtl::Persistent) => "persistent",
            Ok(KeyTtl::Missing) => "missing",
            Err(_) => "error",
        };
        // a claim holds `<fencing token>:<random nonce>` and a fencing key
        // its last token: the nonce differs, and so does the token, which
        // is clock-based (each side's clock, at its own instant)
        let value = match value.split_once(':') {
            Some((token, nonce))
                if key.contains(":claim:")
                    && nonce.len() == 17
                    && token.trim_start_matches('"').parse::<u64>().is_ok() =>
            {
                "\"<token>:<nonce>".to_owned()
            }
            _ if key.contains(":fence:{") && value.trim_matches('"').parse::<u64>().is_ok() => {
                "<token>".to_owned()
            }
            _ => value,
        };
        out.insert(key, format!("{value} ({ttl})"));
    }
    out
}

/// A difference that comes from a known bug, reported and kept as an
/// ignored regression test, so that the random cases keep looking for new
/// ones. `None` when the difference is not explained by a known bug (none is
/// open now: the rate limiter's 2^53 rounding is fixed).
fn known_bug(_op: &Op, _memory: &Out, _redis: &Out) -> Option<&'static str> {
    None
}

/// Runs `ops` on both sides; the first difference fails the case (unless
/// `tolerate` and a known bug explains it).
fn run_case(hx: &Harness, ops: &[Op], tolerate: bool) -> Result<(), TestCaseError> {
    hx.runtime.block_on(async {
        let service = service();
        let mem_adapter = Backend::new(MemoryAdapter::new());
        let mem_root = store(mem_adapter.clone(), &service);
        let redis_root = store(hx.redis.clone(), &service);
        let mut mem = Side::new(&mem_root);
        let mut redis = Side::new(&redis_root);
        let mut volatile = BTreeMap::new();
        let mut result = Ok(());
        for (i, op) in ops.iter().enumerate() {
            settle(&mut volatile, &mem, op).await;
            let expiring = volatile_after(&mem, op);
            let a = apply(&mut mem, op).await;
            let b = apply(&mut redis, op).await;
            // Each side set its TTL before this instant: counting from it, the
            // key has surely expired on both, however slow the Redis side was
            // (counting from before the memory side raced a loaded machine).
            let finished = Instant::now();
            for (key, ttl) in expiring {
                let at = volatile.entry(key).or_insert(finished + ttl);
                *at = (*at).max(finished + ttl);
            }
            let explained = tolerate && known_bug(op, &a, &b).is_some();
            if [&a, &b].contains(&&Ok(Obs::Token(Some(false)))) {
                result = Err(TestCaseError::fail(format!(
                    "operation #{i} {op:?}: a fencing token did not grow\n  memory: {a:?}\n  redis:  {b:?}"
                )));
                break;
            }
            if !same(&a, &b) && !explained {
                result = Err(TestCaseError::fail(format!(
                    "operation #{i} {op:?}\n  memory: {a:?}\n  redis:  {b:?}"
                )));
                break;
            }
        }
        if result.is_ok() {
            // every volatile key expired, then the whole keyspace must agree
            let all = Op::Purge { h: 3 };
            settle(&mut volatile, &mem, &all).await;
            let (a, b) = (
                dump(mem_adapter.adapter(), &service).await,
                dump(hx.redis.adapter(), &service).await,
            );
            if a != b {
                let only = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
                    x.iter()
                        .filter(|(k, v)| y.get(*k) != Some(v))
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                };
                result = Err(TestCaseError::fail(format!(
                    "the keyspaces differ after the case\n  memory only: {:?}\n  redis only:  {:?}",
                    only(&a, &b),
                    only(&b, &a)
                )));
            }
        }
        // leave the shared server clean
        let _ = redis_root.purge().await;
        result
    })
}

fn cases(base: u32) -> u32 {
    let scale = std::env::var("IGNITER_STORE_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    base * scale
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

fn run(cases: u32, ops: impl Strategy<Value = Vec<Op>>) {
    if support::skip_redis() {
        return;
    }
    let hx = harness();
    let mut runner = TestRunner::new(config(cases));
    if let Err(e) = runner.run(&ops, |ops| run_case(&hx, &ops, true)) {
        panic!("memory and Redis disagree: {e}");
    }
}

/// kv, counters, claims, batches, scans, purges and values of the wrong
/// type; long TTLs only.
#[test]
fn kv_counters_claims_batches_agree() {
    run(cases(600), prop::collection::vec(kv_op(false), 1..60));
}

/// The same with short TTLs: keys expire during the case.
#[test]
fn expiry_agrees() {
    run(cases(250), prop::collection::vec(kv_op(true), 1..40));
}

/// Streams with consumer groups, pending entries, reclaims, trims and
/// entries that do not decode.
#[test]
fn streams_agree() {
    // most cases start with both groups on the first stream, so that reads,
    // pending lists, acks and reclaims have something to work on
    let preamble = || {
        (0..GROUPS.len()).map(|group| Op::Ensure {
            h: 0,
            stream: 0,
            group,
            start: IdRef::Lit("0"),
        })
    };
    let case = (
        prop::bool::weighted(0.8),
        prop::collection::vec(stream_op(), 1..50),
    )
        .prop_map(move |(ensure, ops)| {
            if ensure {
                preamble().chain(ops).collect()
            } else {
                ops
            }
        });
    run(cases(600), case);
}

/// Many keys, many patterns: scans agree as sets.
#[test]
fn scans_agree() {
    let case = (
        prop::collection::vec((h(), key()), 5..30),
        prop::collection::vec((h(), pattern(), 5usize..50), 1..12),
    )
        .prop_map(|(keys, scans)| {
            let mut ops: Vec<Op> = keys
                .into_iter()
                .map(|(h, key)| Op::Set {
                    h,
                    key,
                    value: json!(1),
                    ttl: None,
                })
                .collect();
            ops.extend(
                scans
                    .into_iter()
                    .map(|(h, pattern, count)| Op::Scan { h, pattern, count }),
            );
            ops
        });
    run(cases(400), case);
}

/// Everything mixed: stream keys next to kv keys, purges across both.
#[test]
fn everything_mixed_agrees() {
    let op = prop_oneof![kv_op(false), stream_op()];
    run(cases(250), prop::collection::vec(op, 1..50));
}

// ------------------------------------------------------ regressions (replayed)

/// Replays one sequence; a known bug is not tolerated.
fn replay(ops: Vec<Op>) {
    replay_with(ops, false);
}

fn replay_with(ops: Vec<Op>, tolerate: bool) {
    if support::skip_redis() {
        return;
    }
    let hx = harness();
    if let Err(e) = run_case(&hx, &ops, tolerate) {
        panic!("{e}");
    }
}

/// Found by `kv_counters_claims_batches_agree`: the rate-limiter increment
/// (`ttl_on_create`, a Lua script on Redis) returns the new value through a
/// Lua number, a double, so a counter beyond 2^53 comes back rounded — and
/// `i64::MAX` comes back as `i64::MIN`. The stored value is right; only the
/// returned one is wrong. The memory adapter returns the exact value.
#[test]
fn regression_rate_limiter_beyond_2_pow_53() {
    let long = Some(Ttl::Long(Duration::from_secs(10)));
    replay(vec![
        Op::Incr {
            h: 0,
            key: "a".into(),
            delta: i64::MAX,
            ttl: long,
            decrement: false,
        },
        Op::Incr {
            h: 0,
            key: "b".into(),
            delta: (1 << 53) + 1,
            ttl: long,
            decrement: false,
        },
        Op::Incr {
            h: 0,
            key: "c".into(),
            delta: -(1 << 62) - 1,
            ttl: long,
            decrement: false,
        },
    ]);
}

/// Counters at the edges of `i64`, and raw values Redis refuses.
#[test]
fn regression_counter_edges() {
    let k = || "n".to_owned();
    let mut ops = vec![
        Op::Incr {
            h: 0,
            key: k(),
            delta: i64::MAX,
            ttl: None,
            decrement: false,
        },
        Op::Incr {
            h: 0,
            key: k(),
            delta: 1,
            ttl: None,
            decrement: false,
        },
        Op::Incr {
            h: 0,
            key: k(),
            delta: i64::MIN,
            ttl: None,
            decrement: true,
        },
    ];
    for raw in RAW_COUNTERS {
        ops.push(Op::RawCounter {
            h: 0,
            key: k(),
            raw,
        });
        ops.push(Op::CounterGet { h: 0, key: k() });
        ops.push(Op::Incr {
            h: 0,
            key: k(),
            delta: 1,
            ttl: Some(Ttl::Long(Duration::from_secs(10))),
            decrement: false,
        });
        ops.push(Op::Incr {
            h: 0,
            key: k(),
            delta: -1,
            ttl: None,
            decrement: true,
        });
    }
    // the rate-limiter increment of `9223372036854775806` returns a rounded
    // value (see `regression_rate_limiter_beyond_2_pow_53`)
    replay_with(ops, true);
}

/// Values of the wrong type at every kind of key.
#[test]
fn regression_wrong_types() {
    let k = || "w".to_owned();
    let long = Ttl::Long(Duration::from_secs(30));
    replay(vec![
        Op::StreamAtKey {
            h: 0,
            ns: RawNs::Kv,
            key: k(),
        },
        Op::Get { h: 0, key: k() },
        Op::BatchGet {
            h: 0,
            keys: vec![k(), "x".into()],
        },
        Op::Exists { h: 0, key: k() },
        Op::TtlOf { h: 0, key: k() },
        Op::Expire {
            h: 0,
            key: k(),
            ttl: long,
            touch: false,
        },
        Op::Persist { h: 0, key: k() },
        Op::Scan {
            h: 0,
            pattern: "*".into(),
            count: 10,
        },
        Op::Set {
            h: 0,
            key: k(),
            value: json!(1),
            ttl: None,
        },
        Op::Get { h: 0, key: k() },
        Op::StreamAtKey {
            h: 0,
            ns: RawNs::Counter,
            key: k(),
        },
        Op::Incr {
            h: 0,
            key: k(),
            delta: 1,
            ttl: None,
            decrement: false,
        },
        Op::Incr {
            h: 0,
            key: k(),
            delta: 1,
            ttl: Some(long),
            decrement: false,
        },
        Op::CounterGet { h: 0, key: k() },
        Op::StreamAtKey {
            h: 0,
            ns: RawNs::Claim,
            key: k(),
        },
        Op::Once {
            h: 0,
            key: k(),
            owner: 0,
            ttl: long,
        },
        Op::Release {
            h: 0,
            key: k(),
            owner: 0,
        },
        Op::Acquire {
            h: 0,
            key: k(),
            ttl: long,
        },
        Op::StringAtStream { h: 0, stream: 0 },
        Op::Groups { h: 0, stream: 0 },
        Op::Consumers {
            h: 0,
            stream: 0,
            group: 0,
        },
        Op::Delete {
            h: 0,
            stream: 0,
            ids: vec![IdRef::Lit("x"), IdRef::Lit("0-1")],
        },
        Op::ClaimIds {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 0,
            ids: vec![IdRef::Lit("0-1")],
            all: true,
        },
        Op::Move {
            h: 0,
            from: 1,
            id: IdRef::Nth(0),
            to: 0,
        },
        Op::Append {
            h: 0,
            stream: 0,
            value: json!(1),
            max_len: None,
        },
        Op::Range {
            h: 0,
            stream: 0,
            start: IdRef::Lit("-"),
            end: IdRef::Lit("+"),
            count: None,
            reverse: false,
        },
        Op::Len { h: 0, stream: 0 },
        Op::Ensure {
            h: 0,
            stream: 0,
            group: 0,
            start: IdRef::Lit("0"),
        },
        Op::Read {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 0,
            count: None,
            block: false,
        },
        Op::Purge { h: 0 },
    ]);
}

/// The stream administration operations on a fixed sequence through every
/// branch of Redis 7.0's lag (exact, estimated, unknown after an `XDEL`
/// ahead of a group, a group at `$` falling behind) and of `XCLAIM`
/// (deleted ids dropped, another consumer's entries taken).
#[test]
fn stream_admin_agrees() {
    let append = |stream: usize, v: i64| Op::Append {
        h: 0,
        stream,
        value: json!(v),
        max_len: None,
    };
    let groups = Op::Groups { h: 0, stream: 0 };
    let mut ops = vec![groups.clone()];
    ops.extend((0..4).map(|v| append(0, v)));
    ops.extend([
        Op::Ensure {
            h: 0,
            stream: 0,
            group: 0,
            start: IdRef::Lit("0"),
        },
        Op::Ensure {
            h: 0,
            stream: 0,
            group: 1,
            start: IdRef::Lit("$"),
        },
        groups.clone(),
        Op::Read {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 0,
            count: Some(2),
            block: false,
        },
        groups.clone(),
        append(0, 4),
        groups.clone(),
        Op::Delete {
            h: 0,
            stream: 0,
            ids: vec![IdRef::Nth(2)],
        },
        groups.clone(),
        Op::Read {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 1,
            count: None,
            block: false,
        },
        groups.clone(),
        Op::Delete {
            h: 0,
            stream: 0,
            ids: vec![IdRef::Nth(0)],
        },
        Op::ClaimIds {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 2,
            ids: vec![IdRef::Nth(0), IdRef::Nth(1), IdRef::Nth(4)],
            all: true,
        },
        Op::Consumers {
            h: 0,
            stream: 0,
            group: 0,
        },
        Op::PendingEntries {
            h: 0,
            stream: 0,
            group: 0,
            consumer: 0,
            mine: false,
            count: 10,
        },
        Op::Move {
            h: 0,
            from: 0,
            id: IdRef::Nth(1),
            to: 1,
        },
        Op::Move {
            h: 0,
            from: 0,
            id: IdRef::Nth(1),
            to: 1,
        },
        groups.clone(),
        Op::Trim {
            h: 0,
            stream: 0,
            max_len: 0,
        },
        groups,
        Op::Groups { h: 0, stream: 1 },
    ]);
    replay(ops);
}
