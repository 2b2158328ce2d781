//! Consumer groups: [`Group`].

use crate::engine::call;
use std::fmt;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{AnyStream, StreamEntry, StreamName, decode_entry, pooled_stream_key, stream_key};
use crate::adapter::streams::{GroupRead, PendingEntry, PendingSummary, RangeQuery};
use crate::engine::Core;
use crate::engine::StoreFuture;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::serializer::Serializer;
use crate::telemetry::op;

/// One consumer of one consumer group; from
/// [`Streams::group`](super::Streams::group).
///
/// Delivery is at least once: an entry read is pending until it is
/// acknowledged, and entries left pending by a consumer that died are handed
/// to another with [`Group::reclaim`] (or by a [`Worker`](super::Worker)).
///
/// **Cancel safety**: a read that is dropped before it returns may still have
/// been served by the backend; its entries are then pending under this
/// consumer, and are reclaimed after `min_idle` like those of a dead
/// consumer. Nothing is lost.
///
/// A group owns what it needs (it borrows neither the store nor the names):
/// it is `Clone + Send + Sync + 'static`, so a clone moves into a task. The
/// builders it returns (`ensure`, `read`, ...) borrow it until awaited.
///
/// ```
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let group = store.streams().group("mailers", "mailer-1");
/// group.ensure("emails").await?;
/// store.streams().append("emails", &"welcome ada").await?;
///
/// let task = tokio::spawn({
///     let group = group.clone();
///     async move {
///         let batch = group.read::<String>("emails").count(10).await?;
///         for entry in &batch {
///             group.ack("emails", &[&entry.id]).await?;
///         }
///         Ok::<_, igniter_store::StoreError>(batch.len())
///     }
/// });
/// assert_eq!(task.await.unwrap()?, 1);
/// assert_eq!(group.pending("emails").await?.count, 0);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
pub struct Group<Z> {
    pub(super) core: Core<Z>,
    pub(super) group: Arc<str>,
    pub(super) consumer: Arc<str>,
}

impl<Z> Clone for Group<Z> {
    fn clone(&self) -> Self {
        Group {
            core: self.core.clone(),
            group: Arc::clone(&self.group),
            consumer: Arc::clone(&self.consumer),
        }
    }
}

impl<Z> fmt::Debug for Group<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl<Z: Serializer> Group<Z> {
    pub(crate) fn new(core: Core<Z>, group: &str, consumer: &str) -> Self {
        Group {
            core,
            group: group.into(),
            consumer: consumer.into(),
        }
    }

    pub(super) fn check(&self) -> StoreResult<()> {
        if self.group.is_empty() {
            return Err(StoreError::new(
                ErrorCode::StreamGroupRequired,
                "a consumer group name must not be empty",
            ));
        }
        if self.consumer.is_empty() {
            return Err(StoreError::new(
                ErrorCode::StreamConsumerRequired,
                "a consumer name must not be empty",
            ));
        }
        Ok(())
    }

    /// Creates the group on the stream (and the stream) unless it exists;
    /// await it, after `.start_id(..)`, for whether it was created. The group
    /// starts at `0` (the whole stream) by default; `$` starts after the
    /// current last entry.
    pub fn ensure(&self, stream: &(impl AnyStream + ?Sized)) -> Ensure<'_, Z> {
        Ensure {
            group: self,
            name: stream.stream_name().to_owned(),
            start_id: "0".into(),
        }
    }

    /// New entries for this consumer (`XREADGROUP ... >`); await it, after
    /// `.count(..)` and `.block(..)`. A blocking read waits on a connection
    /// of its own, never delaying other operations; the store's deadline is
    /// extended by the block time, and a read whose connection drops while it
    /// blocks connects again and goes on until the block time is over.
    pub fn read<T>(&self, stream: &(impl StreamName<T> + ?Sized)) -> Read<'_, T, Z> {
        Read {
            group: self,
            name: stream.stream_name().to_owned(),
            count: None,
            block: None,
            _message: PhantomData,
        }
    }

    /// Acknowledges `ids`: they are no longer pending. Returns how many were.
    pub async fn ack(
        &self,
        stream: &(impl AnyStream + ?Sized),
        ids: &[impl AsRef<str>],
    ) -> StoreResult<u64> {
        let core = &self.core;
        let name = stream.stream_name();
        let ids: Vec<String> = ids.iter().map(|id| id.as_ref().to_owned()).collect();
        let (group, consumer) = (&*self.group, &*self.consumer);
        op!(
            core,
            "streams",
            "stream",
            "ack",
            ErrorCode::StreamAckFailed,
            async {
                self.check()?;
                let key = pooled_stream_key(core, name)?;
                if ids.is_empty() {
                    return Ok(0);
                }
                call!(core, xack(&key, group, &ids))
            },
            |v| stream.name = name,
            stream.group = group,
            stream.consumer = consumer,
            stream.count = *v
        )
    }

    /// The group's pending entries, summed up.
    pub async fn pending(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<PendingSummary> {
        let core = &self.core;
        let name = stream.stream_name();
        let group = &*self.group;
        let summary = op!(
            core,
            "streams",
            "stream",
            "pending",
            ErrorCode::StreamReadFailed,
            async {
                self.check()?;
                let key = stream_key(core, name)?;
                call!(core, xpending_summary(&key, group))
            },
            |v| stream.name = name,
            stream.group = group,
            stream.count = v.count
        )?;
        #[cfg(feature = "metrics")]
        crate::telemetry::metrics::pending(
            &core.shared.service_label,
            stream.declared_name(),
            summary.count,
        );
        Ok(summary)
    }

    /// The group's pending entries one by one, with their consumer, idle
    /// time and delivery count; await it after `.count(..)` (100 by default)
    /// and `.mine()` (only this consumer's).
    pub fn pending_entries(&self, stream: &(impl AnyStream + ?Sized)) -> PendingQuery<'_, Z> {
        PendingQuery {
            group: self,
            name: stream.stream_name().to_owned(),
            count: 100,
            mine: false,
        }
    }

    /// Takes over entries pending for at least `min_idle` (their consumer is
    /// presumed dead) for this consumer, incrementing their delivery count
    /// (`XAUTOCLAIM`); await it after `.count(..)` (100 by default) for the
    /// entries now this consumer's.
    pub fn reclaim<T>(
        &self,
        stream: &(impl StreamName<T> + ?Sized),
        min_idle: Duration,
    ) -> Reclaim<'_, T, Z> {
        Reclaim {
            group: self,
            name: stream.stream_name().to_owned(),
            min_idle,
            count: 100,
            _message: PhantomData,
        }
    }

    /// Removes this consumer from the group. Its pending entries stop being
    /// pending (as with Redis's `XGROUP DELCONSUMER`): reclaim them first.
    /// Returns how many it had.
    pub async fn remove_consumer(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<u64> {
        let core = &self.core;
        let name = stream.stream_name();
        let (group, consumer) = (&*self.group, &*self.consumer);
        op!(
            core,
            "streams",
            "stream",
            "remove_consumer",
            ErrorCode::StreamOperationFailed,
            async {
                self.check()?;
                let key = stream_key(core, name)?;
                call!(core, xgroup_delconsumer(&key, group, consumer))
            },
            |v| stream.name = name,
            stream.group = group,
            stream.consumer = consumer,
            stream.count = *v
        )
    }

    /// A worker: a `Stream` of deliveries for this consumer that reads new
    /// entries, reclaims idle ones and dead-letters those delivered too often.
    pub fn worker<T>(&self, stream: &(impl StreamName<T> + ?Sized)) -> super::WorkerBuilder<T, Z> {
        super::WorkerBuilder::new(
            self.core.clone(),
            stream.stream_name().to_owned(),
            Arc::clone(&self.group),
            Arc::clone(&self.consumer),
        )
    }
}

/// A pending [`Group::ensure`].
#[must_use = "an ensure does nothing until it is awaited"]
#[derive(Debug)]
pub struct Ensure<'a, Z> {
    group: &'a Group<Z>,
    name: String,
    start_id: String,
}

impl<Z> Ensure<'_, Z> {
    /// Where the group starts: `0` (default) for the whole stream, `$` for
    /// new entries only, or an entry id.
    pub fn start_id(mut self, id: impl Into<String>) -> Self {
        self.start_id = id.into();
        self
    }
}

impl<'a, Z: Serializer> IntoFuture for Ensure<'a, Z> {
    type Output = StoreResult<bool>;
    type IntoFuture = StoreFuture<'a, bool>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Ensure {
                group: g,
                name,
                start_id,
            } = self;
            let (core, group, name) = (&g.core, &*g.group, name.as_str());
            op!(
                core,
                "streams",
                "stream",
                "group",
                ErrorCode::StreamGroupCreateFailed,
                async {
                    g.check()?;
                    let key = stream_key(core, name)?;
                    call!(core, xgroup_create(&key, group, &start_id))
                },
                |v| stream.name = name,
                stream.group = group,
                stream.created = *v
            )
        })
    }
}

/// A pending [`Group::read`].
#[must_use = "a read does nothing until it is awaited"]
pub struct Read<'a, T, Z> {
    group: &'a Group<Z>,
    name: String,
    count: Option<usize>,
    block: Option<Duration>,
    _message: PhantomData<fn() -> T>,
}

impl<T, Z> fmt::Debug for Read<'_, T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("stream", &self.name)
            .field("count", &self.count)
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}

impl<T, Z> Read<'_, T, Z> {
    /// At most `count` entries.
    pub fn count(mut self, count: usize) -> Self {
        self.count = Some(count.max(1));
        self
    }

    /// When there is nothing new, wait up to `block` for entries (whole
    /// milliseconds, rounded up). `Duration::ZERO` does not block: unlike
    /// Redis's `BLOCK 0`, it never means "for ever".
    pub fn block(mut self, block: Duration) -> Self {
        self.block = (!block.is_zero()).then_some(block);
        self
    }
}

impl<'a, T: DeserializeOwned + Send + 'a, Z: Serializer> IntoFuture for Read<'a, T, Z> {
    type Output = StoreResult<Vec<StreamEntry<T>>>;
    type IntoFuture = StoreFuture<'a, Vec<StreamEntry<T>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Read {
                group: g,
                name,
                count,
                block,
                ..
            } = self;
            let (core, group, consumer, name) = (&g.core, &*g.group, &*g.consumer, name.as_str());
            op!(unbounded core, "streams", "stream", "read", ErrorCode::StreamReadFailed, async {
                g.check()?;
                let key = pooled_stream_key(core, name)?;
                let read = GroupRead {
                    group: group.to_owned(),
                    consumer: consumer.to_owned(),
                    count,
                    block,
                };
                let entries = read_group(core, &key, read).await?;
                Ok(entries.into_iter().map(|e| decode_entry(core, e)).collect::<Vec<StreamEntry<T>>>())
            }, |v| stream.name = name, stream.group = group, stream.consumer = consumer, stream.count = v.len())
        })
    }
}

/// The longest a read blocks, whatever it asks.
const MAX_BLOCK: Duration = Duration::from_secs(365 * 24 * 3600);

/// `XREADGROUP`, within the store's deadline extended by the block time,
/// connecting again while the block time lasts when the connection drops.
pub(crate) async fn read_group<Z: Serializer>(
    core: &Core<Z>,
    key: &str,
    mut read: GroupRead,
) -> StoreResult<Vec<crate::adapter::streams::RawEntry>> {
    let Some(block) = read.block else {
        return core
            .run(pin!(async { call!(core, xreadgroup(key, &read)) }))
            .await;
    };
    // A block of `Duration::MAX` would overflow the clock: a year is for ever
    // enough, and Redis's `BLOCK` takes it.
    let block = block.min(MAX_BLOCK);
    let until = Instant::now() + block;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        read.block = Some(left.max(Duration::from_millis(1)));
        let result = core
            .run_extended(left, pin!(async { call!(core, xreadgroup(key, &read)) }))
            .await;
        match result {
            Err(e) if e.code() == ErrorCode::ConnectionFailed && Instant::now() < until => {
                let pause = until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100));
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

/// A pending [`Group::pending_entries`].
#[must_use = "a query does nothing until it is awaited"]
#[derive(Debug)]
pub struct PendingQuery<'a, Z> {
    group: &'a Group<Z>,
    name: String,
    count: usize,
    mine: bool,
}

impl<Z> PendingQuery<'_, Z> {
    /// At most `count` entries (100 by default).
    pub fn count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }

    /// Only this consumer's entries.
    pub fn mine(mut self) -> Self {
        self.mine = true;
        self
    }
}

impl<'a, Z: Serializer> IntoFuture for PendingQuery<'a, Z> {
    type Output = StoreResult<Vec<PendingEntry>>;
    type IntoFuture = StoreFuture<'a, Vec<PendingEntry>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let PendingQuery {
                group: g,
                name,
                count,
                mine,
            } = self;
            let (core, group, name) = (&g.core, &*g.group, name.as_str());
            op!(
                core,
                "streams",
                "stream",
                "pending",
                ErrorCode::StreamReadFailed,
                async {
                    g.check()?;
                    let key = stream_key(core, name)?;
                    let query = RangeQuery {
                        start: "-".into(),
                        end: "+".into(),
                        count: Some(count),
                        reverse: false,
                    };
                    let consumer = mine.then_some(&*g.consumer);
                    call!(core, xpending(&key, group, &query, consumer))
                },
                |v| stream.name = name,
                stream.group = group,
                stream.count = v.len()
            )
        })
    }
}

/// A pending [`Group::reclaim`].
#[must_use = "a reclaim does nothing until it is awaited"]
pub struct Reclaim<'a, T, Z> {
    group: &'a Group<Z>,
    name: String,
    min_idle: Duration,
    count: usize,
    _message: PhantomData<fn() -> T>,
}

impl<T, Z> fmt::Debug for Reclaim<'_, T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reclaim")
            .field("stream", &self.name)
            .field("min_idle", &self.min_idle)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl<T, Z> Reclaim<'_, T, Z> {
    /// At most `count` entries (100 by default).
    pub fn count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }
}

impl<'a, T: DeserializeOwned + Send + 'a, Z: Serializer> IntoFuture for Reclaim<'a, T, Z> {
    type Output = StoreResult<Vec<StreamEntry<T>>>;
    type IntoFuture = StoreFuture<'a, Vec<StreamEntry<T>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Reclaim {
                group: g,
                name,
                min_idle,
                count,
                ..
            } = self;
            let (core, group, consumer, name) = (&g.core, &*g.group, &*g.consumer, name.as_str());
            op!(
                core,
                "streams",
                "stream",
                "reclaim",
                ErrorCode::StreamReadFailed,
                async {
                    g.check()?;
                    let key = stream_key(core, name)?;
                    let entries = reclaim(core, &key, group, consumer, min_idle, count).await?;
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
        })
    }
}

/// `XAUTOCLAIM` pages from the start of the pending list until `count`
/// entries are claimed or the list is scanned.
pub(crate) async fn reclaim<Z: Serializer>(
    core: &Core<Z>,
    key: &str,
    group: &str,
    consumer: &str,
    min_idle: Duration,
    count: usize,
) -> StoreResult<Vec<crate::adapter::streams::RawEntry>> {
    let mut claimed = Vec::new();
    let mut start = "0-0".to_owned();
    loop {
        let read = GroupRead {
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            count: Some(count - claimed.len()),
            block: None,
        };
        let page = call!(core, xautoclaim(key, &read, min_idle, &start))?;
        claimed.extend(page.entries);
        if page.next == "0-0" || claimed.len() >= count {
            return Ok(claimed);
        }
        start = page.next;
    }
}
