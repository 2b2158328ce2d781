//! `XREADGROUP ... >`, blocking or not.
//!
//! A blocked read holds no lock while it waits. It registers for a wake-up
//! before it looks at the stream, so an `XADD` between its look and its wait
//! is not missed; every `XADD` (on any key) wakes it to look again. Deleting,
//! overwriting or expiring its stream (it also wakes at the stream's expiry),
//! or closing the adapter, ends it with an error, as Redis ends it
//! (`UNBLOCKED the stream key no longer exists`).

use std::ops::Bound;

use tokio::time::Instant;

use super::{StreamData, entry, no_group};
use crate::adapter::memory::MemoryAdapter;
use crate::adapter::memory::db::{Entry, Value, deadline, wrong_type};
use crate::adapter::{GroupRead, RawEntry};
use crate::error::{ErrorCode, StoreError, StoreResult};

/// What a group read found: entries, or where it would have to wait.
enum Read {
    Entries(Vec<RawEntry>),
    /// Nothing new: the identity of the stream and its expiry.
    Nothing(u64, Option<Instant>),
}

impl MemoryAdapter {
    pub(in crate::adapter::memory) async fn group_read(
        &self,
        key: &str,
        read: &GroupRead,
    ) -> StoreResult<Vec<RawEntry>> {
        // `None`: do not block; `Some(None)`: block forever (`BLOCK 0`).
        let until = read
            .block
            .map(|d| (!d.is_zero()).then(|| deadline(Instant::now(), d)));
        let mut blocked_on = None;
        loop {
            // Registered before looking, so an XADD in between is not missed.
            let mut notified = std::pin::pin!(self.inner.wake.notified());
            notified.as_mut().enable();
            let (identity, expires_at) = match self.read_new(key, read, blocked_on)? {
                Read::Entries(entries) => return Ok(entries),
                Read::Nothing(identity, expires_at) => (identity, expires_at),
            };
            let Some(until) = until else {
                return Ok(Vec::new());
            };
            if until.is_some_and(|at| Instant::now() >= at) {
                return Ok(Vec::new());
            }
            blocked_on = Some(identity);
            // Wake at the stream's expiry too: it fails the read, as in Redis.
            let wake_at = match (until, expires_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        biased;
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// One look of `XREADGROUP ... >`; `blocked_on` is the stream the read
    /// blocked on, if it did.
    fn read_new(&self, key: &str, read: &GroupRead, blocked_on: Option<u64>) -> StoreResult<Read> {
        let (mut db, now, live_at) = self.open()?;
        let (stream, expires_at) = match db.live_mut(key, live_at) {
            Some(Entry {
                value: Value::Stream(stream),
                expires_at,
            }) if blocked_on.is_none_or(|identity| identity == stream.identity) => {
                (stream, *expires_at)
            }
            // Its groups went with it: the same code as a read that finds no
            // group, so a worker knows to create the group again.
            _ if blocked_on.is_some() => {
                return Err(StoreError::new(
                    ErrorCode::StreamGroupNotFound,
                    "the stream no longer exists, nor its consumer groups",
                ));
            }
            Some(_) => return Err(wrong_type()),
            None => return Err(no_group()),
        };
        let counters = stream.counters();
        let StreamData {
            entries,
            groups,
            identity,
            ..
        } = &mut **stream;
        let group = groups.get_mut(&read.group).ok_or_else(no_group)?;
        // COUNT 0 is no limit, as in Redis.
        let count = read.count.filter(|&n| n > 0).unwrap_or(usize::MAX);
        let after = (Bound::Excluded(group.last_delivered), Bound::Unbounded);
        let new: Vec<RawEntry> = entries
            .range(after)
            .take(count)
            .map(|(id, data)| {
                group.deliver(*id, &read.consumer, now, true);
                group.read_up_to(*id, &counters);
                entry(*id, data)
            })
            .collect();
        Ok(if new.is_empty() {
            Read::Nothing(*identity, expires_at)
        } else {
            Read::Entries(new)
        })
    }
}
