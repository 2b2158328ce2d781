//! [`Worker`]: a stream of deliveries for one consumer of a group.

use crate::engine::call;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::group::{read_group, reclaim};
use super::{decode_entry, stream_key};
use crate::adapter::streams::{GroupRead, RangeQuery, RawEntry};
use crate::engine::Core;
use crate::error::{ErrorCode, StoreResult};
use crate::serializer::{JsonSerializer, Serializer};
use crate::telemetry::op;

/// One entry handed to a worker: acknowledge it with [`Delivery::ack`] once
/// it is handled. An entry that is not acknowledged stays pending and comes
/// back after the worker's reclaim idle time, its delivery count one higher.
pub struct Delivery<T, Z = JsonSerializer> {
    /// The entry id.
    pub id: String,
    /// The payload, or the error decoding it gave (a poison entry). Named
    /// like an event's payload,
    /// [`EventContext::data`](crate::events::EventContext::data).
    pub data: StoreResult<T>,
    /// How many times the entry has been delivered, this time included.
    pub deliveries: u64,
    /// The `data` field as stored.
    pub raw: Option<Bytes>,
    core: Core<Z>,
    key: String,
    group: Arc<str>,
}

impl<T: fmt::Debug, Z> fmt::Debug for Delivery<T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("data", &self.data)
            .field("deliveries", &self.deliveries)
            .finish_non_exhaustive()
    }
}

impl<T, Z> Delivery<T, Z> {
    /// The payload: the field [`data`](Delivery::data), under its former
    /// name.
    #[deprecated(note = "renamed `data`, like an event's payload")]
    pub fn message(&self) -> &StoreResult<T> {
        &self.data
    }
}

impl<T, Z: Serializer> Delivery<T, Z> {
    /// Acknowledges the entry: it is done, and no longer pending. Returns
    /// whether it was still pending.
    pub async fn ack(&self) -> StoreResult<bool> {
        let core = &self.core;
        let group = &*self.group;
        op!(
            core,
            "streams",
            "stream",
            "ack",
            ErrorCode::StreamAckFailed,
            async { Ok(call!(core, xack(&self.key, group, std::slice::from_ref(&self.id)))? > 0) },
            |v| stream.group = group,
            stream.count = u64::from(*v)
        )
    }
}

/// Options of a [`Worker`]; from [`Group::worker`](super::Group::worker).
#[must_use = "a worker builder does nothing until `start` is called"]
pub struct WorkerBuilder<T, Z> {
    core: Core<Z>,
    name: String,
    group: Arc<str>,
    consumer: Arc<str>,
    count: usize,
    block: Duration,
    min_idle: Duration,
    dead_letter: Option<(u64, String)>,
    _message: PhantomData<fn() -> T>,
}

impl<T, Z> fmt::Debug for WorkerBuilder<T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("stream", &self.name)
            .field("group", &self.group)
            .field("count", &self.count)
            .field("block", &self.block)
            .field("min_idle", &self.min_idle)
            .field("dead_letter", &self.dead_letter)
            .finish_non_exhaustive()
    }
}

impl<T, Z> WorkerBuilder<T, Z> {
    pub(crate) fn new(core: Core<Z>, name: String, group: Arc<str>, consumer: Arc<str>) -> Self {
        WorkerBuilder {
            core,
            name,
            group,
            consumer,
            count: 10,
            block: Duration::from_secs(2),
            min_idle: Duration::from_secs(30),
            dead_letter: None,
            _message: PhantomData,
        }
    }

    /// Entries fetched per read (10 by default).
    pub fn count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }

    /// How long one read waits for new entries (2 s by default).
    pub fn block(mut self, block: Duration) -> Self {
        self.block = block.max(Duration::from_millis(1));
        self
    }

    /// How long an entry stays pending before the worker takes it over from
    /// its consumer, presumed dead (30 s by default). The worker looks for
    /// such entries every half of it.
    pub fn reclaim_idle(mut self, min_idle: Duration) -> Self {
        self.min_idle = min_idle.max(Duration::from_millis(1));
        self
    }

    /// Moves an entry delivered more than `max_deliveries` times to the
    /// stream `stream` of the same scope (its `data` as it was), and
    /// acknowledges it, instead of delivering it again: a poison entry never
    /// blocks the worker.
    pub fn dead_letter(mut self, max_deliveries: u64, stream: impl Into<String>) -> Self {
        self.dead_letter = Some((max_deliveries.max(1), stream.into()));
        self
    }
}

impl<T, Z> WorkerBuilder<T, Z>
where
    T: DeserializeOwned + Send + 'static,
    Z: Serializer,
{
    /// Starts the worker. It creates the group (from the start of the
    /// stream) if it does not exist, then alternates reclaiming idle entries
    /// and reading new ones. Errors are yielded as items and the worker goes
    /// on, pausing briefly. It ends only when the store is closed: after
    /// yielding that `STORE_NOT_CONNECTED` error.
    ///
    /// When the group disappears (Redis restarted without its data, the
    /// stream was deleted, or the tenant purged), the worker creates it
    /// again from the start of the stream and goes on without an error:
    /// what is appended afterwards is delivered. Entries that were pending in
    /// the lost group are gone with it; entries still in the stream are
    /// delivered again (at least once, never lost).
    pub fn start(self) -> Worker<T, Z> {
        let state = State {
            opts: self,
            key: None,
            ready: VecDeque::new(),
            next_reclaim: Instant::now(),
            failures: 0,
        };
        // `None` once the store is closed: the worker has said so, and ends.
        let inner = futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            let item = state.next().await;
            let closed = matches!(&item, Err(e) if e.code() == ErrorCode::NotConnected);
            Some((item, (!closed).then_some(state)))
        });
        Worker {
            inner: Box::pin(inner),
        }
    }
}

/// A `Stream` of [`Delivery`]s; see [`Group::worker`](super::Group::worker).
///
/// **Cancel safety**: dropping the worker (or a poll of it) may leave
/// entries that Redis already handed to this consumer pending; another
/// worker of the group reclaims them after the reclaim idle time.
#[must_use = "a worker does nothing unless it is polled"]
pub struct Worker<T, Z = JsonSerializer> {
    inner: BoxStream<'static, StoreResult<Delivery<T, Z>>>,
}

impl<T, Z> fmt::Debug for Worker<T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl<T, Z> Stream for Worker<T, Z> {
    type Item = StoreResult<Delivery<T, Z>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct State<T, Z> {
    opts: WorkerBuilder<T, Z>,
    /// The stream's key, once the group is ensured.
    key: Option<String>,
    ready: VecDeque<Delivery<T, Z>>,
    next_reclaim: Instant,
    failures: u32,
}

impl<T: DeserializeOwned + Send + 'static, Z: Serializer> State<T, Z> {
    async fn next(&mut self) -> StoreResult<Delivery<T, Z>> {
        let mut recreated = false;
        loop {
            if let Some(delivery) = self.ready.pop_front() {
                return Ok(delivery);
            }
            match self.fill().await {
                Ok(()) => self.failures = 0,
                // The group is gone: Redis restarted without its data, or
                // the stream was deleted or purged. Create it again (from the
                // start of the stream, so nothing appended since is missed)
                // and go on; only a group that cannot be kept is an error.
                Err(e) if e.code() == ErrorCode::StreamGroupNotFound && !recreated => {
                    recreated = true;
                    self.key = None;
                }
                Err(e) => {
                    self.failures += 1;
                    let pause = Duration::from_millis(50 << self.failures.min(5));
                    tokio::time::sleep(pause).await;
                    return Err(e);
                }
            }
        }
    }

    async fn fill(&mut self) -> StoreResult<()> {
        let key = match &self.key {
            Some(key) => key.clone(),
            None => {
                let key = ensure(&self.opts).await?;
                self.key = Some(key.clone());
                key
            }
        };
        let now = Instant::now();
        if now >= self.next_reclaim {
            let interval =
                (self.opts.min_idle / 2).clamp(Duration::from_millis(10), Duration::from_secs(5));
            self.next_reclaim = now + interval;
            return self.reclaim(&key).await;
        }
        let o = &self.opts;
        let (core, group, consumer) = (&o.core, &*o.group, &*o.consumer);
        let read = GroupRead {
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            count: Some(o.count),
            block: Some(
                o.block
                    .min(self.next_reclaim - now)
                    .max(Duration::from_millis(1)),
            ),
        };
        let name = o.name.as_str();
        let entries = op!(unbounded core, "streams", "stream", "read", ErrorCode::StreamReadFailed,
            read_group(core, &key, read),
            |v| stream.name = name, stream.group = group, stream.consumer = consumer, stream.count = v.len())?;
        for entry in entries {
            self.push(&key, entry, 1);
        }
        Ok(())
    }

    async fn reclaim(&mut self, key: &str) -> StoreResult<()> {
        let o = &self.opts;
        let (core, group, consumer, name) = (&o.core, &*o.group, &*o.consumer, o.name.as_str());
        let (min_idle, count) = (o.min_idle, o.count);
        let claimed = op!(
            core,
            "streams",
            "stream",
            "reclaim",
            ErrorCode::StreamReadFailed,
            async {
                let entries = reclaim(core, key, group, consumer, min_idle, count).await?;
                // The delivery count of each, now that it is this consumer's:
                // one XPENDING over the claimed ids' range (XAUTOCLAIM hands
                // them out in id order), and one more per entry only where
                // that page did not reach (more of this consumer's pending
                // entries in between than it asked for).
                let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
                    return Ok(Vec::new());
                };
                let range = |start: &str, end: &str, count: usize| RangeQuery {
                    start: start.to_owned(),
                    end: end.to_owned(),
                    count: Some(count),
                    reverse: false,
                };
                let page = range(
                    &first.id,
                    &last.id,
                    entries.len().saturating_mul(2).max(100),
                );
                let pending = call!(core, xpending(key, group, &page, Some(consumer)))?;
                let counts: HashMap<&str, u64> = pending
                    .iter()
                    .map(|p| (p.id.as_str(), p.deliveries))
                    .collect();
                let mut counted = Vec::with_capacity(entries.len());
                for entry in entries {
                    let deliveries = match counts.get(entry.id.as_str()) {
                        Some(&deliveries) => deliveries,
                        None => {
                            let one = range(&entry.id, &entry.id, 1);
                            let pending = call!(core, xpending(key, group, &one, Some(consumer)))?;
                            pending.first().map_or(1, |p| p.deliveries)
                        }
                    };
                    counted.push((entry, deliveries));
                }
                Ok(counted)
            },
            |v| stream.name = name,
            stream.group = group,
            stream.consumer = consumer,
            stream.count = v.len()
        )?;
        for (entry, deliveries) in claimed {
            match &self.opts.dead_letter {
                Some((max, dead)) if deliveries > *max => {
                    bury(&self.opts, key, entry, dead).await?
                }
                _ => self.push(key, entry, deliveries),
            }
        }
        Ok(())
    }

    fn push(&mut self, key: &str, entry: RawEntry, deliveries: u64) {
        let o = &self.opts;
        let decoded = decode_entry(&o.core, entry);
        self.ready.push_back(Delivery {
            id: decoded.id,
            data: decoded.data,
            deliveries,
            raw: decoded.raw,
            core: o.core.clone(),
            key: key.to_owned(),
            group: Arc::clone(&o.group),
        });
    }
}

async fn ensure<T, Z: Serializer>(o: &WorkerBuilder<T, Z>) -> StoreResult<String> {
    let (core, group, name) = (&o.core, &*o.group, o.name.as_str());
    op!(
        core,
        "streams",
        "stream",
        "group",
        ErrorCode::StreamGroupCreateFailed,
        async {
            let key = stream_key(core, name)?;
            call!(core, xgroup_create(&key, group, "0"))?;
            Ok(key)
        },
        |_v| stream.name = name,
        stream.group = group
    )
}

/// Moves an entry delivered too often to the dead-letter stream, and
/// acknowledges it.
async fn bury<T, Z: Serializer>(
    o: &WorkerBuilder<T, Z>,
    key: &str,
    entry: RawEntry,
    dead: &str,
) -> StoreResult<()> {
    let (core, group, name) = (&o.core, &*o.group, o.name.as_str());
    op!(
        core,
        "streams",
        "stream",
        "dead_letter",
        ErrorCode::StreamOperationFailed,
        async {
            let dead_key = stream_key(core, dead)?;
            let data = entry
                .data
                .clone()
                .unwrap_or_else(|| Bytes::from_static(b"null"));
            call!(core, xadd(&dead_key, data, None))?;
            call!(core, xack(key, group, std::slice::from_ref(&entry.id)))
        },
        |_v| stream.name = name,
        stream.group = group
    )?;
    #[cfg(feature = "metrics")]
    crate::telemetry::metrics::count(
        crate::telemetry::metrics::DEAD_LETTERED,
        &core.shared.service_label,
        1,
    );
    Ok(())
}
