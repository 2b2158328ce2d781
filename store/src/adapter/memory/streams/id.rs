//! Stream ids (`<ms>-<seq>`) and their parsing, as Redis 7 parses them
//! (`streamGenericParseIDOrReply`, `streamParseIntervalIDOrReply`), quirks
//! included: an id is read as a C string (up to its first NUL), each part as
//! `string2ull` reads it (a strict integer, else `strtoull`: leading white
//! space, a sign, leading zeros), and an id longer than 127 bytes is invalid.

use std::fmt;

use crate::adapter::parse_redis_integer;
use crate::error::{ErrorCode, StoreError, StoreResult};

/// An entry id: milliseconds and a sequence number, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(super) struct StreamId {
    pub(super) ms: u64,
    pub(super) seq: u64,
}

impl StreamId {
    /// `0-0`, also `-`.
    pub(super) const MIN: StreamId = StreamId::new(0, 0);
    /// `18446744073709551615-18446744073709551615`, also `+`.
    pub(super) const MAX: StreamId = StreamId::new(u64::MAX, u64::MAX);

    pub(super) const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next id (`streamIncrID`), `None` after [`StreamId::MAX`].
    pub(super) fn incr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous id (`streamDecrID`), `None` before [`StreamId::MIN`].
    pub(super) fn decr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

fn invalid() -> StoreError {
    StoreError::new(ErrorCode::StreamIdInvalid, "a stream id is not valid")
}

/// `strtoull(s, &end, 10)` accepting only when it read the whole string and
/// did not overflow: leading C white space, an optional sign (`-` negates
/// modulo 2^64, as C does), then decimal digits.
fn strtoull(s: &str) -> Option<u64> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0B', '\x0C', '\r']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Redis's `string2ull`: a strict integer (`string2ll`) must not be
/// negative; anything else goes through `strtoull`.
fn string2ull(s: &str) -> Option<u64> {
    match parse_redis_integer(s.as_bytes()) {
        Some(v) => u64::try_from(v).ok(),
        None => strtoull(s),
    }
}

/// An id; `missing_seq` is the sequence of an id given as `<ms>` alone.
/// `strict` refuses `-` and `+`.
pub(super) fn parse(raw: &str, missing_seq: u64, strict: bool) -> StoreResult<StreamId> {
    if raw.len() > 127 {
        return Err(invalid());
    }
    // Redis copies the argument into a C string: a NUL ends it.
    let s = raw.split('\0').next().unwrap_or_default();
    match s {
        "-" | "+" if strict => Err(invalid()),
        "-" => Ok(StreamId::MIN),
        "+" => Ok(StreamId::MAX),
        _ => {
            let (ms, seq) = match s.split_once('-') {
                Some((ms, seq)) => (ms, Some(seq)),
                None => (s, None),
            };
            let ms = string2ull(ms).ok_or_else(invalid)?;
            let seq = match seq {
                Some(seq) => string2ull(seq).ok_or_else(invalid)?,
                None => missing_seq,
            };
            Ok(StreamId::new(ms, seq))
        }
    }
}

/// An id that must be an id (`XACK`, `XGROUP CREATE`): no `-` or `+`, `<ms>`
/// alone is `<ms>-0`.
pub(super) fn parse_strict(raw: &str) -> StoreResult<StreamId> {
    parse(raw, 0, true)
}

/// One bound of an interval, `(id` excluding it; whether it is exclusive.
fn parse_bound(raw: &str, missing_seq: u64) -> StoreResult<(StreamId, bool)> {
    match raw.strip_prefix('(') {
        Some(rest) if !rest.is_empty() => Ok((parse(rest, missing_seq, true)?, true)),
        _ => Ok((parse(raw, missing_seq, false)?, false)),
    }
}

/// The start of an interval (`XRANGE`, `XPENDING`, `XAUTOCLAIM`): `<ms>` alone
/// is `<ms>-0`, `(id` is the id after it.
pub(super) fn parse_start(raw: &str) -> StoreResult<StreamId> {
    match parse_bound(raw, 0)? {
        (id, false) => Ok(id),
        (id, true) => id.incr().ok_or_else(|| {
            StoreError::new(
                ErrorCode::StreamIdInvalid,
                "an exclusive start id must be below the largest id",
            )
        }),
    }
}

/// The end of an interval: `<ms>` alone is `<ms>-<max>`, `(id` is the id
/// before it.
pub(super) fn parse_end(raw: &str) -> StoreResult<StreamId> {
    match parse_bound(raw, u64::MAX)? {
        (id, false) => Ok(id),
        (id, true) => id.decr().ok_or_else(|| {
            StoreError::new(
                ErrorCode::StreamIdInvalid,
                "an exclusive end id must be above 0-0",
            )
        }),
    }
}

/// The inclusive interval `[start, end]`, `None` when it is empty. Both
/// bounds are checked (the start first) before anything else, as Redis does.
pub(super) fn interval(start: &str, end: &str) -> StoreResult<Option<(StreamId, StreamId)>> {
    let start = parse_start(start)?;
    let end = parse_end(end)?;
    Ok((start <= end).then_some((start, end)))
}
