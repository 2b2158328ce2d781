//! The stream side of the adapter contract: entries, pending entries and the
//! options of the stream commands.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

/// The one field of every entry the store writes, as the TypeScript package
/// writes it: `XADD <key> * data <json>`.
pub const DATA_FIELD: &str = "data";

/// An entry as the adapter read it.
#[derive(Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The entry id, `<ms>-<seq>`.
    pub id: String,
    /// The value of the `data` field; `None` when the entry has no such field
    /// (written by another client), so the store reports it rather than
    /// dropping it.
    pub data: Option<Bytes>,
}

impl fmt::Debug for RawEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawEntry")
            .field("id", &self.id)
            .field("len", &self.data.as_ref().map(Bytes::len))
            .finish()
    }
}

/// `MAXLEN` of `XADD` and `XTRIM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxLen {
    /// Keep at most this many entries (at least this many when approximate).
    pub len: u64,
    /// `MAXLEN ~`: let Redis trim whole nodes only, keeping at least `len`.
    pub approximate: bool,
}

/// A range of `XRANGE` / `XREVRANGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeQuery {
    /// The first id (`-` for the start; `(id` for exclusive).
    pub start: String,
    /// The last id (`+` for the end; `(id` for exclusive).
    pub end: String,
    /// At most this many entries.
    pub count: Option<usize>,
    /// Newest first (`XREVRANGE end start`).
    pub reverse: bool,
}

/// A group read (`XREADGROUP GROUP g c [COUNT n] [BLOCK ms] STREAMS key >`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRead {
    /// The group.
    pub group: String,
    /// The consumer.
    pub consumer: String,
    /// At most this many entries.
    pub count: Option<usize>,
    /// Wait up to this long for new entries when there are none.
    pub block: Option<Duration>,
}

/// `XPENDING key group`: the summary of a group's pending entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PendingSummary {
    /// How many entries were delivered and not acknowledged.
    pub count: u64,
    /// The smallest pending id.
    pub min_id: Option<String>,
    /// The largest pending id.
    pub max_id: Option<String>,
    /// Pending entries per consumer.
    pub consumers: Vec<(String, u64)>,
}

/// One pending entry (`XPENDING key group - + count [consumer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingEntry {
    /// The entry id.
    pub id: String,
    /// The consumer it was last delivered to.
    pub consumer: String,
    /// How long since it was last delivered.
    pub idle: Duration,
    /// How many times it was delivered.
    pub deliveries: u64,
}

impl PendingEntry {
    /// A pending entry (for adapters).
    pub fn new(id: String, consumer: String, idle: Duration, deliveries: u64) -> Self {
        PendingEntry {
            id,
            consumer,
            idle,
            deliveries,
        }
    }
}

/// The reply of `XAUTOCLAIM`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoClaim {
    /// Where to continue; `0-0` when the whole pending list was scanned.
    pub next: String,
    /// The entries now owned by the claiming consumer.
    pub entries: Vec<RawEntry>,
    /// Pending ids whose entries no longer exist (removed from the list).
    pub deleted: Vec<String>,
}

/// One consumer group of a stream (`XINFO GROUPS`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group's name.
    pub name: String,
    /// How many consumers it has.
    pub consumers: u64,
    /// How many entries were delivered to it and not acknowledged.
    pub pending: u64,
    /// The last entry id delivered to it (`0-0` before any).
    pub last_delivered_id: String,
    /// How many entries of the stream it has not been delivered yet; `None`
    /// when Redis cannot tell (after entries were deleted from the middle of
    /// the stream with [`Streams::delete`](crate::streams::Streams::delete),
    /// say), as `XINFO GROUPS` answers nil.
    pub lag: Option<u64>,
}

impl GroupInfo {
    /// A group's information (for adapters).
    pub fn new(
        name: String,
        consumers: u64,
        pending: u64,
        last_delivered_id: String,
        lag: Option<u64>,
    ) -> Self {
        GroupInfo {
            name,
            consumers,
            pending,
            last_delivered_id,
            lag,
        }
    }
}

/// One consumer of a consumer group (`XINFO CONSUMERS`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerInfo {
    /// The consumer's name.
    pub name: String,
    /// How many entries are pending for it.
    pub pending: u64,
    /// How long since it last read or claimed entries (Redis's `idle`).
    pub idle: Duration,
}

impl ConsumerInfo {
    /// A consumer's information (for adapters).
    pub fn new(name: String, pending: u64, idle: Duration) -> Self {
        ConsumerInfo {
            name,
            pending,
            idle,
        }
    }
}

/// Whether `id` is a full entry id, `<ms>-<seq>`: two decimal integers
/// that fit in a `u64`, digits only (no sign), as Redis hands ids out. The
/// ids [`Group::claim`](crate::streams::Group::claim) and
/// [`Streams::move_entry`](crate::streams::Streams::move_entry) accept.
///
/// ```
/// use igniter_store::streams::is_entry_id;
/// assert!(is_entry_id("1700000000000-0"));
/// assert!(!is_entry_id("1700000000000"));
/// assert!(!is_entry_id("+5-0"));
/// assert!(!is_entry_id("FORCE"));
/// ```
pub fn is_entry_id(id: &str) -> bool {
    let part = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok();
    id.split_once('-')
        .is_some_and(|(ms, seq)| part(ms) && part(seq))
}

/// [`is_entry_id`], or `STORE_STREAM_ID_INVALID`. The stream operations
/// that take ids of the caller's and do more than Redis's own parsing would
/// (`XCLAIM`, whose arguments after the ids are options, and the move, whose
/// `XRANGE id id` reads `<ms>` alone as a range) check them with it, on
/// every adapter, before any I/O.
pub(crate) fn check_entry_id(id: &str) -> crate::error::StoreResult<()> {
    if is_entry_id(id) {
        return Ok(());
    }
    Err(crate::error::StoreError::new(
        crate::error::ErrorCode::StreamIdInvalid,
        "a stream entry id must be `<ms>-<seq>`",
    ))
}
