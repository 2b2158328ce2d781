//! The administration commands of the memory adapter's streams: `XINFO
//! GROUPS` (with Redis 7.0's lag), `XINFO CONSUMERS`, `XDEL`, `XCLAIM`, and
//! the move of one entry between streams.
//!
//! A group's lag follows `t_stream.c` of Redis 7.0 (`streamReplyWithCGLag`,
//! `streamEstimateDistanceFromFirstEverEntry`, `streamRangeHasTombstones`):
//! exact while the group's read counter is known and no deleted entry lies
//! ahead of it, estimated from the stream's counters otherwise, and unknown
//! (`None`, Redis's nil) when an `XDEL` fragments the stream in a way the
//! counters cannot see past.

use std::time::Duration;

use super::id::{StreamId, parse_strict};
use super::{ClaimOne, Group, StreamData, idle_ms, no_group, wall_clock_ms};
use crate::adapter::memory::MemoryAdapter;
use crate::adapter::streams::check_entry_id;
use crate::adapter::{ConsumerInfo, GroupInfo, GroupRead, RawEntry, ceil_millis};
use crate::error::StoreResult;

/// The counters of a stream that a group's lag is computed from, copied so
/// that a group can be changed while they are read.
#[derive(Clone, Copy)]
pub(super) struct Counters {
    entries_added: u64,
    length: u64,
    first_id: StreamId,
    last_id: StreamId,
    max_deleted: StreamId,
}

impl Counters {
    /// Whether a deleted entry may lie at or after `start`
    /// (`streamRangeHasTombstones(s, start, NULL)`).
    fn tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted == StreamId::MIN {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// How many entries were added up to `id`, when the counters tell
    /// (`streamEstimateDistanceFromFirstEverEntry`).
    fn entries_up_to(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let unfragmented = self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id;
        if unfragmented {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// The lag of `group` (`streamReplyWithCGLag`).
    fn lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let read = match group.entries_read {
            Some(read) if !self.tombstones_from(group.last_delivered) => Some(read),
            _ => self.entries_up_to(group.last_delivered),
        };
        read.map(|read| self.entries_added.saturating_sub(read))
    }
}

impl StreamData {
    pub(super) fn counters(&self) -> Counters {
        Counters {
            entries_added: self.entries_added,
            length: self.entries.len() as u64,
            // Redis's `first_id`, read only while the stream has entries
            // (both users of it answer an empty stream before): its first.
            first_id: self
                .entries
                .first_key_value()
                .map_or(StreamId::MAX, |(id, _)| *id),
            last_id: self.last_id,
            max_deleted: self.max_deleted,
        }
    }

    /// Removes the entry `id` (`XDEL`); whether it existed.
    fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        self.max_deleted = self.max_deleted.max(id);
        true
    }
}

impl Group {
    /// `XREADGROUP ... >` delivered `id`, above the last delivered id: the
    /// group's read counter follows (as `streamReplyWithRange` updates it).
    pub(super) fn read_up_to(&mut self, id: StreamId, counters: &Counters) {
        if id <= self.last_delivered {
            return;
        }
        match self.entries_read {
            Some(read) if !counters.tombstones_from(id) => self.entries_read = Some(read + 1),
            _ if counters.entries_added > 0 => self.entries_read = counters.entries_up_to(id),
            _ => {}
        }
        self.last_delivered = id;
    }
}

impl MemoryAdapter {
    pub(in crate::adapter::memory) fn group_infos(&self, key: &str) -> StoreResult<Vec<GroupInfo>> {
        let (db, now) = self.open_live()?;
        let Some(stream) = db.stream(key, now)? else {
            return Ok(Vec::new());
        };
        let counters = stream.counters();
        Ok(stream
            .groups
            .iter()
            .map(|(name, group)| {
                GroupInfo::new(
                    name.clone(),
                    group.consumers.len() as u64,
                    group.pel.len() as u64,
                    group.last_delivered.to_string(),
                    counters.lag(group),
                )
            })
            .collect())
    }

    pub(in crate::adapter::memory) fn consumer_infos(
        &self,
        key: &str,
        group: &str,
    ) -> StoreResult<Vec<ConsumerInfo>> {
        let (db, at, now) = self.open()?;
        let Some(group) = db.stream(key, now)?.and_then(|s| s.groups.get(group)) else {
            return Ok(Vec::new());
        };
        Ok(group
            .consumers
            .iter()
            .map(|(name, consumer)| {
                ConsumerInfo::new(
                    name.clone(),
                    consumer.pending.len() as u64,
                    Duration::from_millis(idle_ms(consumer.seen, at)),
                )
            })
            .collect())
    }

    /// `XDEL`: a missing key deletes nothing, ids unchecked; then the type,
    /// then every id, before anything is deleted (Redis's order).
    pub(in crate::adapter::memory) fn stream_delete(
        &self,
        key: &str,
        ids: &[String],
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (mut db, now) = self.open_live()?;
        let Some(stream) = db.stream_mut(key, now)? else {
            return Ok(0);
        };
        let ids = ids
            .iter()
            .map(|id| parse_strict(id))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ids.into_iter().filter(|&id| stream.delete(id)).count() as u64)
    }

    /// `XCLAIM key group consumer min_idle ids...`, as Redis 7.0 runs it:
    /// ids not pending are skipped, pending ids whose entry is gone leave the
    /// pending list unreturned, and the consumer is created by its first
    /// claim only. No ids claim nothing, as the Redis adapter sends nothing.
    pub(in crate::adapter::memory) fn claim(
        &self,
        key: &str,
        read: &GroupRead,
        min_idle: Duration,
        ids: &[String],
    ) -> StoreResult<Vec<RawEntry>> {
        let ids = ids
            .iter()
            .map(|id| {
                check_entry_id(id)?;
                parse_strict(id)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let min_idle = ceil_millis(min_idle);
        let (mut db, now, live_at) = self.open()?;
        let stream = db.stream_mut(key, live_at)?.ok_or_else(no_group)?;
        let StreamData {
            entries, groups, ..
        } = stream;
        let group = groups.get_mut(&read.group).ok_or_else(no_group)?;
        let mut claimed = Vec::new();
        for id in ids {
            let Some(delivered_at) = group.pel.get(&id).map(|p| p.delivered_at) else {
                continue;
            };
            if let ClaimOne::Taken(entry) =
                group.claim_one(id, delivered_at, entries, &read.consumer, now, min_idle)
            {
                claimed.push(entry);
            }
        }
        Ok(claimed)
    }

    /// The move of one entry, in one step under the lock, as the Redis
    /// adapter's script runs it: `XRANGE from id id` (the type of `from`),
    /// `XADD to` (the type of `to`, checked before anything changes), `XDEL
    /// from id`.
    pub(in crate::adapter::memory) fn stream_move(
        &self,
        from: &str,
        id: &str,
        to: &str,
    ) -> StoreResult<Option<String>> {
        check_entry_id(id)?;
        let id = parse_strict(id)?;
        let (mut db, now) = self.open_live()?;
        let Some(data) = db
            .stream(from, now)?
            .and_then(|source| source.entries.get(&id).cloned())
        else {
            return Ok(None);
        };
        // A target of another type: `WRONGTYPE` before anything changes.
        let target = db.stream_or_create(to, now)?;
        let new_id = target.next_id(wall_clock_ms())?;
        target.append(new_id, data);
        if let Some(source) = db.stream_mut(from, now)? {
            source.delete(id);
        }
        db.wake.notify_waiters();
        Ok(Some(new_id.to_string()))
    }
}
