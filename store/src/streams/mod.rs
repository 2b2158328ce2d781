//! Redis Streams, typed and scoped: [`Streams`].

mod admin;
mod group;
mod worker;

use crate::engine::call;
use std::fmt;
use std::future::IntoFuture;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use group::{Ensure, Group, PendingQuery, Read, Reclaim};
pub use worker::{Delivery, Worker, WorkerBuilder};

pub use crate::adapter::streams::{
    ConsumerInfo, GroupInfo, PendingEntry, PendingSummary, is_entry_id,
};
use crate::adapter::streams::{MaxLen, RangeQuery, RawEntry};
use crate::engine::StoreFuture;
use crate::engine::{Core, PooledKey};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::Channel;
use crate::key::Namespace;
use crate::serializer::Serializer;
use crate::telemetry::op;

/// Something that names a stream, whatever it carries: a [`Channel<T>`] for
/// any `T`, or a plain name (`str`, `String`).
///
/// The operations that never touch a payload take it ([`Streams::len`],
/// [`Streams::trim`], [`Streams::key`], [`Group::ensure`], [`Group::ack`],
/// [`Group::pending`], [`Group::pending_entries`],
/// [`Group::remove_consumer`]), so a plain name needs no type there:
///
/// ```
/// # use igniter_store::{MemoryAdapter, Store};
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let streams = store.streams();
/// assert_eq!(streams.len("jobs").await?, 0);
/// streams.group("workers", "worker-1").ensure("jobs").await?;
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
///
/// Implement it (with [`StreamName<T>`] for the payloads it carries) for a
/// type of your own that names streams.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name a stream",
    label = "not a stream name",
    note = "a stream is named by a `&str`, a `&String` or a `&Channel<T>` (from `events!` or `#[derive(StoreEvents)]`)"
)]
pub trait AnyStream {
    /// The stream's name, the key segment after `streams:`.
    fn stream_name(&self) -> &str;

    /// The name when it is declared in the code (a [`Channel`]'s), never a
    /// name made at run time: what a metrics label may hold.
    fn declared_name(&self) -> Option<&'static str> {
        None
    }
}

/// Something that names a stream carrying `T`: a [`Channel<T>`] from
/// `events!` / `#[derive(StoreEvents)]` (so the compiler checks what is
/// appended and read), or a plain name (`str`, `String`) for any `T`.
///
/// The operations that encode or decode a payload take it
/// ([`Streams::append`], [`Streams::range`], [`Group::read`],
/// [`Group::reclaim`], [`Group::worker`]). `T` is their only generic
/// parameter, so a plain name is given its type as `read::<Job>("jobs")`;
/// a channel gives its own, and another payload type does not compile:
///
/// ```compile_fail,E0277
/// # use igniter_store::{events, MemoryAdapter, Store};
/// # #[derive(serde::Serialize, serde::Deserialize)] pub struct Resize { width: u32 }
/// events! { pub jobs { resize(Resize), } }
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// store.streams().append(&jobs::RESIZE, &"not a Resize").await?;  // error: not a stream of `&str`
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name a stream of `{T}`",
    label = "not a stream of `{T}`",
    note = "a `Channel<T>` carries only its own `T`; a plain name (`&str`, `&String`) carries any"
)]
pub trait StreamName<T: ?Sized>: AnyStream {}

impl<T> AnyStream for Channel<T> {
    fn stream_name(&self) -> &str {
        self.name()
    }

    fn declared_name(&self) -> Option<&'static str> {
        Some(self.name())
    }
}

impl AnyStream for str {
    fn stream_name(&self) -> &str {
        self
    }
}

impl AnyStream for String {
    fn stream_name(&self) -> &str {
        self
    }
}

impl<T> StreamName<T> for Channel<T> {}

impl<T: ?Sized> StreamName<T> for str {}

impl<T: ?Sized> StreamName<T> for String {}

/// One entry read from a stream: its id, and its payload decoded as `T` —
/// or the error that decoding it gave. An entry that does not decode is
/// handed out like any other (so it can be acknowledged or dead-lettered),
/// never dropped and never fatal.
#[derive(Debug)]
#[non_exhaustive]
pub struct StreamEntry<T> {
    /// The entry id, `<ms>-<seq>`.
    pub id: String,
    /// The payload, or `STORE_DESERIALIZATION_FAILED` for an entry whose
    /// `data` field does not decode (or that has none). Named like an
    /// event's payload, [`EventContext::data`](crate::events::EventContext::data).
    pub data: StoreResult<T>,
    /// The `data` field as stored, if the entry has one.
    pub raw: Option<Bytes>,
}

impl<T> StreamEntry<T> {
    /// The payload: the field [`data`](StreamEntry::data), under its former
    /// name.
    #[deprecated(note = "renamed `data`, like an event's payload")]
    pub fn message(&self) -> &StoreResult<T> {
        &self.data
    }
}

pub(crate) fn decode_entry<T: DeserializeOwned, Z: Serializer>(
    core: &Core<Z>,
    entry: RawEntry,
) -> StreamEntry<T> {
    let data = match &entry.data {
        Some(bytes) => core.serializer().decode(bytes),
        None => Err(StoreError::new(
            ErrorCode::DeserializationFailed,
            "the stream entry has no `data` field",
        )),
    };
    StreamEntry {
        id: entry.id,
        data,
        raw: entry.data,
    }
}

/// The streams of one scope chain (`<chain>:streams:<name>`); from
/// [`Store::streams`](crate::Store::streams).
///
/// Each entry holds one field, `data`, the encoded payload — the TypeScript
/// package's layout.
///
/// ```
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let streams = store.streams();
/// let id = streams.append("jobs", &"resize:42").max_len(10_000).approximate().await?;
/// let jobs = streams.group("workers", "worker-1");
/// jobs.ensure("jobs").await?;
/// // the group starts at the beginning of the stream by default
/// let batch = jobs.read::<String>("jobs").count(10).await?;
/// assert_eq!(batch[0].id, id);
/// assert_eq!(batch[0].data.as_deref().ok(), Some("resize:42"));
/// jobs.ack("jobs", &[&id]).await?;
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Streams<'a, Z> {
    core: &'a Core<Z>,
}

pub(crate) fn stream_key<Z: Serializer>(core: &Core<Z>, name: &str) -> StoreResult<String> {
    check_name(name)?;
    core.key(Namespace::Streams, name)
}

/// [`stream_key`] in a pooled string, for operations that only lend the key
/// to the adapter.
pub(crate) fn pooled_stream_key<Z: Serializer>(
    core: &Core<Z>,
    name: &str,
) -> StoreResult<PooledKey> {
    check_name(name)?;
    core.pooled_key(Namespace::Streams, name)
}

fn check_name(name: &str) -> StoreResult<()> {
    if name.is_empty() {
        return Err(StoreError::new(
            ErrorCode::StreamNameRequired,
            "a stream name must not be empty",
        ));
    }
    Ok(())
}

impl<'a, Z: Serializer> Streams<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Streams { core }
    }

    /// The full key of a stream, for commands the store does not wrap.
    pub fn key(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<String> {
        stream_key(self.core, stream.stream_name())
    }

    /// Appends `data`; await it (after `.max_len(..)` and `.approximate()`
    /// as needed) for the new entry's id.
    pub fn append<T: Serialize>(
        &self,
        stream: &(impl StreamName<T> + ?Sized),
        data: &T,
    ) -> Append<'a, Z> {
        Append {
            core: self.core,
            name: stream.stream_name().to_owned(),
            encoded: self.core.encode(data),
            max_len: None,
        }
    }

    /// Entries in id order; await it after `.start(..)`, `.end(..)`,
    /// `.count(..)`, `.reverse()` as needed.
    pub fn range<T>(&self, stream: &(impl StreamName<T> + ?Sized)) -> Range<'a, T, Z> {
        Range {
            core: self.core,
            name: stream.stream_name().to_owned(),
            query: RangeQuery {
                start: "-".into(),
                end: "+".into(),
                count: None,
                reverse: false,
            },
            _message: PhantomData,
        }
    }

    /// How many entries the stream holds (0 when it does not exist).
    pub async fn len(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<u64> {
        let core = self.core;
        let name = stream.stream_name();
        op!(
            core,
            "streams",
            "stream",
            "len",
            ErrorCode::StreamReadFailed,
            async {
                let key = pooled_stream_key(core, name)?;
                call!(core, xlen(&key))
            },
            |v| stream.name = name,
            stream.count = *v
        )
    }

    /// Trims the stream to `max_len` entries (at least `max_len` when
    /// `approximate`); how many were removed.
    pub async fn trim(
        &self,
        stream: &(impl AnyStream + ?Sized),
        max_len: u64,
        approximate: bool,
    ) -> StoreResult<u64> {
        let core = self.core;
        let name = stream.stream_name();
        op!(
            core,
            "streams",
            "stream",
            "trim",
            ErrorCode::StreamOperationFailed,
            async {
                let key = stream_key(core, name)?;
                call!(
                    core,
                    xtrim(
                        &key,
                        MaxLen {
                            len: max_len,
                            approximate,
                        },
                    )
                )
            },
            |v| stream.name = name,
            stream.count = *v
        )
    }

    /// The consumer `consumer` of the group `group`: ensure the group, read,
    /// acknowledge, inspect and reclaim pending entries, or run a worker.
    ///
    /// The [`Group`] owns what it needs (a handle on the store, and the two
    /// names, taken as `&str` or `String`): clone it into a task.
    pub fn group(&self, group: impl AsRef<str>, consumer: impl AsRef<str>) -> Group<Z> {
        Group::new(self.core.clone(), group.as_ref(), consumer.as_ref())
    }
}

/// A pending [`Streams::append`].
#[must_use = "an append does nothing until it is awaited"]
pub struct Append<'a, Z> {
    core: &'a Core<Z>,
    name: String,
    encoded: StoreResult<Bytes>,
    max_len: Option<MaxLen>,
}

impl<Z> fmt::Debug for Append<'_, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Append")
            .field("stream", &self.name)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl<Z> Append<'_, Z> {
    /// Trims the stream to `len` entries as part of the append (`MAXLEN`).
    pub fn max_len(mut self, len: u64) -> Self {
        self.max_len = Some(MaxLen {
            len,
            approximate: self.max_len.is_some_and(|m| m.approximate),
        });
        self
    }

    /// Lets Redis trim whole nodes only (`MAXLEN ~`): cheaper, keeps at
    /// least the `max_len` entries. Without `max_len` it does nothing.
    pub fn approximate(mut self) -> Self {
        if let Some(m) = &mut self.max_len {
            m.approximate = true;
        }
        self
    }
}

impl<'a, Z: Serializer> IntoFuture for Append<'a, Z> {
    type Output = StoreResult<String>;
    type IntoFuture = StoreFuture<'a, String>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Append {
                core,
                name,
                encoded,
                max_len,
            } = self;
            let name = name.as_str();
            op!(
                core,
                "streams",
                "stream",
                "append",
                ErrorCode::StreamAppendFailed,
                async {
                    check_name(name)?;
                    core.xadd_key(name, encoded, max_len).await
                },
                |_v| stream.name = name
            )
        })
    }
}

/// A pending [`Streams::range`].
#[must_use = "a range does nothing until it is awaited"]
pub struct Range<'a, T, Z> {
    core: &'a Core<Z>,
    name: String,
    query: RangeQuery,
    _message: PhantomData<fn() -> T>,
}

impl<T, Z> fmt::Debug for Range<'_, T, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Range")
            .field("stream", &self.name)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl<T, Z> Range<'_, T, Z> {
    /// The lowest id (inclusive; `(id` for exclusive), `-` by default.
    pub fn start(mut self, id: impl Into<String>) -> Self {
        self.query.start = id.into();
        self
    }

    /// The highest id (inclusive; `(id` for exclusive), `+` by default.
    pub fn end(mut self, id: impl Into<String>) -> Self {
        self.query.end = id.into();
        self
    }

    /// At most `count` entries.
    pub fn count(mut self, count: usize) -> Self {
        self.query.count = Some(count);
        self
    }

    /// Newest first (`XREVRANGE`); `start` and `end` keep their meaning.
    pub fn reverse(mut self) -> Self {
        self.query.reverse = true;
        self
    }
}

impl<'a, T: DeserializeOwned + Send + 'a, Z: Serializer> IntoFuture for Range<'a, T, Z> {
    type Output = StoreResult<Vec<StreamEntry<T>>>;
    type IntoFuture = StoreFuture<'a, Vec<StreamEntry<T>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Range {
                core, name, query, ..
            } = self;
            let name = name.as_str();
            op!(
                core,
                "streams",
                "stream",
                "range",
                ErrorCode::StreamReadFailed,
                async {
                    let key = pooled_stream_key(core, name)?;
                    let entries = call!(core, xrange(&key, &query))?;
                    Ok(entries
                        .into_iter()
                        .map(|e| decode_entry(core, e))
                        .collect::<Vec<StreamEntry<T>>>())
                },
                |v| stream.name = name,
                stream.count = v.len()
            )
        })
    }
}
