//! Stream administration: the groups of a stream and the consumers of a
//! group ([`Streams::groups`], [`Group::consumers`]), entries deleted
//! ([`Streams::delete`]) or moved to another stream ([`Streams::move_entry`]),
//! and pending entries claimed by id ([`Group::claim`]).

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{
    AnyStream, Group, StreamEntry, StreamName, Streams, decode_entry, pooled_stream_key, stream_key,
};
use crate::adapter::streams::{ConsumerInfo, GroupInfo, GroupRead, check_entry_id};
use crate::engine::call;
use crate::error::{ErrorCode, StoreResult};
use crate::serializer::Serializer;
use crate::telemetry::op;

impl<Z: Serializer> Streams<'_, Z> {
    /// The stream's consumer groups, in name order (`XINFO GROUPS`): each
    /// with its consumers, pending entries, last delivered id and lag. Empty
    /// when the stream does not exist.
    ///
    /// ```
    /// # use igniter_store::{MemoryAdapter, Store};
    /// # async fn run() -> Result<(), igniter_store::StoreError> {
    /// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
    /// let streams = store.streams();
    /// streams.append("jobs", &1).await?;
    /// streams.group("workers", "w1").ensure("jobs").await?;
    /// let groups = streams.groups("jobs").await?;
    /// assert_eq!(groups[0].name, "workers");
    /// assert_eq!(groups[0].lag, Some(1), "one entry not delivered yet");
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
    /// ```
    pub async fn groups(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<Vec<GroupInfo>> {
        let core = self.core;
        let name = stream.stream_name();
        op!(
            core,
            "streams",
            "stream",
            "groups",
            ErrorCode::StreamReadFailed,
            async {
                let key = pooled_stream_key(core, name)?;
                call!(core, xinfo_groups(&key))
            },
            |v| stream.name = name,
            stream.count = v.len()
        )
    }

    /// Removes the entries `ids` (`XDEL`); how many existed. Ids are read as
    /// `XDEL` reads them: one that is not an id fails with
    /// `STORE_STREAM_ID_INVALID`, and nothing is removed. An entry removed
    /// while pending stays pending until acknowledged (a
    /// [`Group::claim`] or a reclaim drops it).
    pub async fn delete(
        &self,
        stream: &(impl AnyStream + ?Sized),
        ids: &[String],
    ) -> StoreResult<u64> {
        let core = self.core;
        let name = stream.stream_name();
        op!(
            core,
            "streams",
            "stream",
            "delete",
            ErrorCode::StreamOperationFailed,
            async {
                let key = pooled_stream_key(core, name)?;
                if ids.is_empty() {
                    return Ok(0);
                }
                call!(core, xdel(&key, ids))
            },
            |v| stream.name = name,
            stream.count = *v
        )
    }

    /// Moves one entry, in one atomic step: if `id` exists in `from`, appends
    /// its `data` to `to` (with a new id) and deletes it from `from`,
    /// returning `Some(new id)`; `None` when `from` has no such entry
    /// (already moved or deleted), so a repeated call never duplicates it.
    /// `id` is a full entry id, `<ms>-<seq>`, as the store hands them out
    /// (else `STORE_STREAM_ID_INVALID`, before any I/O). The entry's pending
    /// state in `from`'s groups is not carried over: acknowledge it there.
    ///
    /// On the memory adapter the move is one step under its lock; on Redis
    /// one Lua script (`XRANGE`, `XADD`, `XDEL`), so it can neither lose nor
    /// double the entry. On Redis Cluster the script runs when both streams
    /// are in one slot — always with the store's
    /// [`scope_hash_tag`](crate::StoreBuilder::scope_hash_tag), which puts
    /// a tenant's keys in one slot — and otherwise the move is refused with
    /// `STORE_STREAM_CROSS_SLOT` and nothing moves: no script spans two
    /// slots, and two steps could lose or double the entry between them.
    ///
    /// ```
    /// # use igniter_store::{MemoryAdapter, Store};
    /// # async fn run() -> Result<(), igniter_store::StoreError> {
    /// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
    /// let streams = store.streams();
    /// let id = streams.append("jobs", &"resize:42").await?;
    /// let moved = streams.move_entry("jobs", &id, "jobs:dead").await?;
    /// assert!(moved.is_some());
    /// assert_eq!(streams.move_entry("jobs", &id, "jobs:dead").await?, None, "moved once");
    /// assert_eq!((streams.len("jobs").await?, streams.len("jobs:dead").await?), (0, 1));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
    /// ```
    pub async fn move_entry(
        &self,
        from: &(impl AnyStream + ?Sized),
        id: &str,
        to: &(impl AnyStream + ?Sized),
    ) -> StoreResult<Option<String>> {
        let core = self.core;
        let (name, target) = (from.stream_name(), to.stream_name());
        op!(
            core,
            "streams",
            "stream",
            "move",
            ErrorCode::StreamOperationFailed,
            async {
                let from = stream_key(core, name)?;
                let to = stream_key(core, target)?;
                check_entry_id(id)?;
                call!(core, xmove(&from, id, &to))
            },
            |v| stream.name = name,
            stream.target = target,
            stream.moved = v.is_some()
        )
    }
}

impl<Z: Serializer> Group<Z> {
    /// The group's consumers on `stream`, in name order (`XINFO
    /// CONSUMERS`): each with its pending entries and how long since it
    /// last read or claimed. Empty when the group or the stream does not
    /// exist. A consumer exists from its first delivery (a read that
    /// returned entries, or a claim) until it is removed.
    pub async fn consumers(
        &self,
        stream: &(impl AnyStream + ?Sized),
    ) -> StoreResult<Vec<ConsumerInfo>> {
        let core = &self.core;
        let name = stream.stream_name();
        let group = &*self.group;
        op!(
            core,
            "streams",
            "stream",
            "consumers",
            ErrorCode::StreamReadFailed,
            async {
                self.check()?;
                let key = pooled_stream_key(core, name)?;
                call!(core, xinfo_consumers(&key, group))
            },
            |v| stream.name = name,
            stream.group = group,
            stream.count = v.len()
        )
    }

    /// Takes the given pending entries for this consumer if idle at least
    /// `min_idle` (`XCLAIM`), incrementing their delivery counts; returns
    /// the entries now this consumer's, in the order of `ids`. Ids not
    /// pending in the group, or not idle long enough, are left alone; ids no
    /// longer in the stream are dropped from the pending list and not
    /// returned, as Redis 7 does. A zero `min_idle` takes them whatever
    /// their idle time. Ids are full entry ids, `<ms>-<seq>` (else
    /// `STORE_STREAM_ID_INVALID`, before any I/O); a missing group is
    /// `STORE_STREAM_GROUP_NOT_FOUND`.
    ///
    /// [`reclaim`](Group::reclaim) takes whatever is idle; this takes what
    /// you name (an entry shown by [`pending_entries`](Group::pending_entries),
    /// say).
    pub async fn claim<T: DeserializeOwned>(
        &self,
        stream: &(impl StreamName<T> + ?Sized),
        ids: &[String],
        min_idle: Duration,
    ) -> StoreResult<Vec<StreamEntry<T>>> {
        let core = &self.core;
        let name = stream.stream_name();
        let (group, consumer) = (&*self.group, &*self.consumer);
        op!(
            core,
            "streams",
            "stream",
            "claim",
            ErrorCode::StreamReadFailed,
            async {
                self.check()?;
                let key = pooled_stream_key(core, name)?;
                for id in ids {
                    check_entry_id(id)?;
                }
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let read = GroupRead {
                    group: group.to_owned(),
                    consumer: consumer.to_owned(),
                    count: None,
                    block: None,
                };
                let entries = call!(core, xclaim(&key, &read, min_idle, ids))?;
                Ok(entries
                    .into_iter()
                    .map(|e| decode_entry(core, e))
                    .collect::<Vec<StreamEntry<T>>>())
            },
            |v| stream.name = name,
            stream.group = group,
            stream.consumer = consumer,
            stream.count = v.len()
        )
    }
}
