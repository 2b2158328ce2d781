//! The stream commands of [`MemoryAdapter`], with the semantics of Redis 7
//! (checked against `redis-server` 7.0): a key holds a stream of entries in id
//! order, each with the one field `data`, and its consumer groups, each with a
//! pending entries list (PEL) and consumers.
//!
//! - Ids come from the wall clock (`SystemTime`, milliseconds), always above
//!   the stream's last id, even when the clock goes back; trimming never
//!   lowers the last id, and a stream emptied by trimming still exists.
//! - Delivery times are on tokio's clock, so `tokio::time::pause` drives idle
//!   times, as it drives expiry.
//! - Ranges: `start` is the low bound and `end` the high bound in both
//!   directions (`XREVRANGE key end start`); `reverse` only changes the order.
//! - A blocked `XREADGROUP` holds no lock while it waits (see `blocking`).
//! - What Redis refuses, this refuses, in Redis's order (arguments, then the
//!   key's type, then the group): ids parse as Redis parses them (see `id`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

use super::MemoryAdapter;
use super::db::{Db, Entry, Now, Value, wrong_type};
use crate::adapter::{
    AutoClaim, GroupRead, MaxLen, PendingEntry, PendingSummary, RangeQuery, RawEntry, ceil_millis,
};
use crate::error::{ErrorCode, StoreError, StoreResult};

mod admin;
mod blocking;
mod id;
#[cfg(test)]
mod tests;

use id::{StreamId, interval, parse_start, parse_strict};

/// `XPENDING` and `XAUTOCLAIM` without a count: at most this many entries
/// (what Redis uses for `XAUTOCLAIM`, and `RedisAdapter` sends for both).
const DEFAULT_COUNT: usize = 100;

/// `XAUTOCLAIM` looks at no more than `count` times this many pending entries.
const AUTOCLAIM_ATTEMPTS_FACTOR: usize = 10;

/// A stream: its entries, its last id and its consumer groups.
pub(super) struct StreamData {
    /// The `data` field of each entry, by id.
    entries: BTreeMap<StreamId, Option<Bytes>>,
    /// The largest id ever added (`0-0` for a new stream).
    last_id: StreamId,
    groups: BTreeMap<String, Group>,
    /// Which stream this is, unique in the adapter: a blocked read fails when
    /// its stream is replaced, even by a new stream.
    identity: u64,
    /// How many entries were ever added (Redis's `entries_added`), for lags.
    entries_added: u64,
    /// The largest id ever removed by `XDEL` (`max_deleted_entry_id`).
    max_deleted: StreamId,
}

struct Group {
    /// The last id delivered by `XREADGROUP ... >`.
    last_delivered: StreamId,
    /// How many entries it read, when Redis knows it (`entries_read`).
    entries_read: Option<u64>,
    pel: BTreeMap<StreamId, Pending>,
    /// By name, in Redis's (byte) order.
    consumers: BTreeMap<String, Consumer>,
}

/// What claiming one pending entry did ([`Group::claim_one`]).
enum ClaimOne {
    /// Its entry was deleted: it left the pending list.
    Gone,
    /// Delivered too recently: left as it was.
    TooRecent,
    /// Now the claiming consumer's.
    Taken(RawEntry),
}

struct Pending {
    consumer: String,
    delivered_at: Instant,
    deliveries: u64,
}

struct Consumer {
    /// When the consumer last read or claimed (Redis's `seen-time`).
    seen: Instant,
    /// Its pending ids (each also in the group's PEL).
    pending: BTreeSet<StreamId>,
}

impl StreamData {
    fn new(identity: u64) -> Self {
        StreamData {
            entries: BTreeMap::new(),
            last_id: StreamId::MIN,
            groups: BTreeMap::new(),
            identity,
            entries_added: 0,
            max_deleted: StreamId::MIN,
        }
    }

    /// Appends an entry at `id`, above the last id (`streamAppendItem`).
    fn append(&mut self, id: StreamId, data: Option<Bytes>) {
        self.entries.insert(id, data);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// The id of a new entry at `now_ms` (`streamNextID`).
    fn next_id(&self, now_ms: u64) -> StoreResult<StreamId> {
        if now_ms > self.last_id.ms {
            return Ok(StreamId::new(now_ms, 0));
        }
        self.last_id.incr().ok_or_else(|| {
            StoreError::new(
                ErrorCode::OperationFailed,
                "the stream has exhausted the last possible id",
            )
        })
    }

    /// Removes the oldest entries beyond `max_len`; how many. Exact even when
    /// approximate: Redis promises to keep at least `len`, and this keeps `len`.
    fn trim(&mut self, max_len: MaxLen) -> u64 {
        let mut removed = 0;
        while self.entries.len() as u64 > max_len.len {
            self.entries.pop_first();
            removed += 1;
        }
        removed
    }
}

impl Group {
    fn new(last_delivered: StreamId) -> Self {
        Group {
            last_delivered,
            entries_read: None,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer `name`, created if new, seen now.
    fn consumer(&mut self, name: &str, now: Instant) -> &mut Consumer {
        let consumer = self
            .consumers
            .entry(name.to_owned())
            .or_insert_with(|| Consumer {
                seen: now,
                pending: BTreeSet::new(),
            });
        consumer.seen = now;
        consumer
    }

    /// Makes `id` pending for `consumer`, delivered now: a new pending entry
    /// counts one delivery; an existing one moves to `consumer` and counts one
    /// more (`XAUTOCLAIM`), or restarts at one (`XREADGROUP`).
    fn deliver(&mut self, id: StreamId, consumer: &str, now: Instant, restart: bool) {
        match self.pel.get_mut(&id) {
            Some(pending) => {
                if pending.consumer != consumer {
                    if let Some(old) = self.consumers.get_mut(&pending.consumer) {
                        old.pending.remove(&id);
                    }
                    pending.consumer = consumer.to_owned();
                }
                pending.delivered_at = now;
                pending.deliveries = if restart {
                    1
                } else {
                    pending.deliveries.saturating_add(1)
                };
            }
            None => {
                let pending = Pending {
                    consumer: consumer.to_owned(),
                    delivered_at: now,
                    deliveries: 1,
                };
                self.pel.insert(id, pending);
            }
        }
        self.consumer(consumer, now).pending.insert(id);
    }

    /// Removes `id` from the PEL; whether it was pending.
    /// Claims the pending `id` (delivered at `delivered_at`) for `consumer`
    /// if idle at least `min_idle` ms, as `XCLAIM` and `XAUTOCLAIM` both do;
    /// a pending id whose entry is gone leaves the pending list.
    fn claim_one(
        &mut self,
        id: StreamId,
        delivered_at: Instant,
        entries: &BTreeMap<StreamId, Option<Bytes>>,
        consumer: &str,
        now: Instant,
        min_idle: u64,
    ) -> ClaimOne {
        let Some(data) = entries.get(&id) else {
            self.forget(id);
            return ClaimOne::Gone;
        };
        if idle_ms(delivered_at, now) < min_idle {
            return ClaimOne::TooRecent;
        }
        self.deliver(id, consumer, now, false);
        ClaimOne::Taken(entry(id, data))
    }

    fn forget(&mut self, id: StreamId) -> bool {
        let Some(pending) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(consumer) = self.consumers.get_mut(&pending.consumer) {
            consumer.pending.remove(&id);
        }
        true
    }
}

/// Whole milliseconds since `at`, as Redis reports idle times.
fn idle_ms(at: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX)
}

fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn entry(id: StreamId, data: &Option<Bytes>) -> RawEntry {
    RawEntry {
        id: id.to_string(),
        data: data.clone(),
    }
}

fn no_group() -> StoreError {
    StoreError::new(
        ErrorCode::StreamGroupNotFound,
        "the stream or the consumer group does not exist",
    )
}

fn as_stream(value: &mut Value) -> StoreResult<&mut StreamData> {
    match value {
        Value::Stream(stream) => Ok(stream),
        Value::Str(_) => Err(wrong_type()),
    }
}

impl Db {
    fn stream(&self, key: &str, now: Now) -> StoreResult<Option<&StreamData>> {
        match self.live(key, now) {
            None => Ok(None),
            Some(Entry {
                value: Value::Stream(stream),
                ..
            }) => Ok(Some(stream)),
            Some(_) => Err(wrong_type()),
        }
    }

    fn stream_mut(&mut self, key: &str, now: Now) -> StoreResult<Option<&mut StreamData>> {
        self.live_mut(key, now)
            .map(|entry| as_stream(&mut entry.value))
            .transpose()
    }

    /// The stream at `key`, created empty (without a TTL) when missing or
    /// expired: a new stream, with a new identity.
    fn stream_or_create(&mut self, key: &str, now: Now) -> StoreResult<&mut StreamData> {
        if self.live(key, now).is_none() {
            self.streams_created += 1;
            let stream = StreamData::new(self.streams_created);
            self.insert(key, Value::Stream(Box::new(stream)), None, now);
        }
        self.stream_mut(key, now)?.ok_or_else(wrong_type)
    }

    /// The group of the stream at `key`, or `NOGROUP`.
    fn group(&self, key: &str, group: &str, now: Now) -> StoreResult<&Group> {
        self.stream(key, now)?
            .and_then(|stream| stream.groups.get(group))
            .ok_or_else(no_group)
    }
}

impl MemoryAdapter {
    pub(super) fn stream_add(
        &self,
        key: &str,
        payload: Bytes,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        let (mut db, now) = self.open_live()?;
        let stream = db.stream_or_create(key, now)?;
        let id = stream.next_id(wall_clock_ms())?;
        stream.append(id, Some(payload));
        if let Some(max_len) = max_len {
            stream.trim(max_len);
        }
        db.wake.notify_waiters();
        Ok(id.to_string())
    }

    pub(super) fn stream_range(&self, key: &str, query: &RangeQuery) -> StoreResult<Vec<RawEntry>> {
        let bounds = interval(&query.start, &query.end)?;
        let (db, now) = self.open_live()?;
        let (Some(stream), Some((low, high))) = (db.stream(key, now)?, bounds) else {
            return Ok(Vec::new());
        };
        let count = query.count.unwrap_or(usize::MAX);
        let range = stream.entries.range(low..=high);
        let pick = |(id, data): (&StreamId, &Option<Bytes>)| entry(*id, data);
        Ok(if query.reverse {
            range.rev().take(count).map(pick).collect()
        } else {
            range.take(count).map(pick).collect()
        })
    }

    pub(super) fn stream_len(&self, key: &str) -> StoreResult<u64> {
        let (db, now) = self.open_live()?;
        Ok(db.stream(key, now)?.map_or(0, |s| s.entries.len() as u64))
    }

    pub(super) fn stream_trim(&self, key: &str, max_len: MaxLen) -> StoreResult<u64> {
        let (mut db, now) = self.open_live()?;
        Ok(db.stream_mut(key, now)?.map_or(0, |s| s.trim(max_len)))
    }

    pub(super) fn group_create(&self, key: &str, group: &str, start_id: &str) -> StoreResult<bool> {
        let (mut db, now) = self.open_live()?;
        // The type is checked before the id, the id before the stream is made.
        let existing = db.stream(key, now)?;
        let start = match start_id {
            "$" => existing.map_or(StreamId::MIN, |s| s.last_id),
            id => parse_strict(id)?,
        };
        let stream = db.stream_or_create(key, now)?;
        if stream.groups.contains_key(group) {
            return Ok(false);
        }
        stream.groups.insert(group.to_owned(), Group::new(start));
        Ok(true)
    }

    pub(super) fn group_delconsumer(
        &self,
        key: &str,
        group: &str,
        consumer: &str,
    ) -> StoreResult<u64> {
        let (mut db, now) = self.open_live()?;
        // Redis: "ERR The XGROUP subcommand requires the key to exist".
        let stream = db.stream_mut(key, now)?.ok_or_else(|| {
            StoreError::new(ErrorCode::StreamGroupNotFound, "the stream does not exist")
        })?;
        let group = stream.groups.get_mut(group).ok_or_else(no_group)?;
        let Some(consumer) = group.consumers.remove(consumer) else {
            return Ok(0);
        };
        for id in &consumer.pending {
            group.pel.remove(id);
        }
        Ok(consumer.pending.len() as u64)
    }

    pub(super) fn group_ack(&self, key: &str, group: &str, ids: &[String]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (mut db, now) = self.open_live()?;
        // No key or no group: nothing to acknowledge, ids unchecked.
        let Some(group) = db
            .stream_mut(key, now)?
            .and_then(|s| s.groups.get_mut(group))
        else {
            return Ok(0);
        };
        // All or nothing: every id is checked first.
        let ids = ids
            .iter()
            .map(|id| parse_strict(id))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ids.into_iter().filter(|&id| group.forget(id)).count() as u64)
    }

    pub(super) fn pending_summary(&self, key: &str, group: &str) -> StoreResult<PendingSummary> {
        let (db, now) = self.open_live()?;
        let group = db.group(key, group, now)?;
        Ok(PendingSummary {
            count: group.pel.len() as u64,
            min_id: group.pel.first_key_value().map(|(id, _)| id.to_string()),
            max_id: group.pel.last_key_value().map(|(id, _)| id.to_string()),
            consumers: group
                .consumers
                .iter()
                .filter(|(_, c)| !c.pending.is_empty())
                .map(|(name, c)| (name.clone(), c.pending.len() as u64))
                .collect(),
        })
    }

    /// `XPENDING key group start end count [consumer]`; the count defaults to
    /// [`DEFAULT_COUNT`] and `query.reverse` is ignored (XPENDING has no
    /// reverse form).
    pub(super) fn pending_range(
        &self,
        key: &str,
        group: &str,
        query: &RangeQuery,
        consumer: Option<&str>,
    ) -> StoreResult<Vec<PendingEntry>> {
        let bounds = interval(&query.start, &query.end)?;
        let (db, at, now) = self.open()?;
        let group = db.group(key, group, now)?;
        let Some((low, high)) = bounds else {
            return Ok(Vec::new());
        };
        let count = query.count.unwrap_or(DEFAULT_COUNT);
        let ids: Vec<StreamId> = match consumer {
            None => group
                .pel
                .range(low..=high)
                .map(|(id, _)| *id)
                .take(count)
                .collect(),
            Some(name) => match group.consumers.get(name) {
                Some(c) => c.pending.range(low..=high).copied().take(count).collect(),
                None => Vec::new(),
            },
        };
        Ok(ids
            .into_iter()
            .filter_map(|id| {
                let p = group.pel.get(&id)?;
                Some(PendingEntry::new(
                    id.to_string(),
                    p.consumer.clone(),
                    Duration::from_millis(idle_ms(p.delivered_at, at)),
                    p.deliveries,
                ))
            })
            .collect())
    }

    /// `XAUTOCLAIM key group consumer min_idle start COUNT count`: looks at
    /// up to `count * 10` pending entries from `start`, claims up to `count`
    /// idle for at least `min_idle` (in whole milliseconds, rounded up as the
    /// Redis adapter sends it), and drops those whose entry was deleted (which
    /// count towards `count`, as in Redis 7).
    pub(super) fn auto_claim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        start: &str,
    ) -> StoreResult<AutoClaim> {
        let start = parse_start(start)?;
        let count = match read.count {
            None => DEFAULT_COUNT,
            Some(0) => {
                return Err(StoreError::new(
                    ErrorCode::OperationFailed,
                    "COUNT must be > 0",
                ));
            }
            Some(n) => n,
        };
        let min_idle = ceil_millis(min_idle);
        let (mut db, now, live_at) = self.open()?;
        let stream = db.stream_mut(key, live_at)?.ok_or_else(no_group)?;
        let StreamData {
            entries, groups, ..
        } = stream;
        let group = groups.get_mut(&read.group).ok_or_else(no_group)?;
        let mut attempts = count.saturating_mul(AUTOCLAIM_ATTEMPTS_FACTOR);
        let mut left = count;
        let mut from = Bound::Included(start);
        let mut claimed = AutoClaim::default();
        while attempts > 0 && left > 0 {
            attempts -= 1;
            let Some((id, delivered_at)) = group
                .pel
                .range((from, Bound::Unbounded))
                .next()
                .map(|(id, p)| (*id, p.delivered_at))
            else {
                break;
            };
            from = Bound::Excluded(id);
            match group.claim_one(id, delivered_at, entries, &read.consumer, now, min_idle) {
                ClaimOne::Gone => claimed.deleted.push(id.to_string()),
                ClaimOne::TooRecent => continue,
                ClaimOne::Taken(entry) => claimed.entries.push(entry),
            }
            left -= 1;
        }
        let next = group.pel.range((from, Bound::Unbounded)).next();
        claimed.next = next.map_or(StreamId::MIN, |(id, _)| *id).to_string();
        Ok(claimed)
    }
}
