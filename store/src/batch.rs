//! Many kv entries in one round trip: [`Batch`].

use crate::engine::call;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "redis")]
use crate::adapter::Backend;
use crate::adapter::MsetEntry;
#[cfg(feature = "redis")]
use crate::adapter::redis::commands;
use crate::engine::{Core, check_ttl};
use crate::error::{ErrorCode, StoreResult};
use crate::key::Namespace;
use crate::serializer::Serializer;
use crate::telemetry::op;

/// Batches over the `kv` namespace of one scope chain; from
/// [`Store::batch`](crate::Store::batch). An empty batch does no I/O.
///
/// ```
/// use std::time::Duration;
/// use igniter_store::{batch::BatchEntry, MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// store.batch().set([
///     BatchEntry::new("a", &1),
///     BatchEntry::new("b", &2).ttl(Duration::from_secs(10)),
/// ]).await?;
/// let values: Vec<Option<i32>> = store.batch().get(&["a", "missing", "b"]).await?;
/// assert_eq!(values, vec![Some(1), None, Some(2)]);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Batch<'a, Z> {
    core: &'a Core<Z>,
}

/// One entry of [`Batch::set`]: a key, a value and its own TTL.
pub struct BatchEntry<'a, T: ?Sized> {
    key: &'a str,
    value: &'a T,
    ttl: Option<Duration>,
}

impl<T: ?Sized> fmt::Debug for BatchEntry<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchEntry")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<'a, T: ?Sized> BatchEntry<'a, T> {
    /// An entry without a TTL.
    pub fn new(key: &'a str, value: &'a T) -> Self {
        BatchEntry {
            key,
            value,
            ttl: None,
        }
    }

    /// This entry expires after `ttl`.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl<'a, Z: Serializer> Batch<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Batch { core }
    }

    /// The values at `keys`, in order; `None` where there is none.
    pub async fn get<T: DeserializeOwned, K: AsRef<str>>(
        &self,
        keys: &[K],
    ) -> StoreResult<Vec<Option<T>>> {
        let core = self.core;
        let count = keys.len();
        op!(
            core,
            "kv",
            "batch",
            "get",
            ErrorCode::BatchFailed,
            core.mget_with(Namespace::Kv, keys, |bytes| core.serializer().decode(bytes)),
            |v| batch.count = count,
            batch.found = v.iter().filter(|x| x.is_some()).count()
        )
    }

    /// Writes every entry, each with its own TTL, all or nothing: an entry
    /// that fails validation (empty key, zero TTL, a value that does not
    /// serialize) fails the whole batch before anything is written.
    pub async fn set<'e, T, I>(&self, entries: I) -> StoreResult<()>
    where
        T: Serialize + ?Sized + 'e,
        I: IntoIterator<Item = BatchEntry<'e, T>>,
    {
        let core = self.core;
        let mut count = 0;
        let prepared = prepare(core, entries.into_iter().inspect(|_| count += 1));
        op!(
            core,
            "kv",
            "batch",
            "set",
            ErrorCode::BatchFailed,
            async {
                match prepared? {
                    #[cfg(feature = "redis")]
                    Prepared::Redis(redis, write) => write.run(&mut redis.open()?).await,
                    Prepared::Entries(entries) if entries.is_empty() => Ok(()),
                    Prepared::Entries(entries) => {
                        // A cluster that wrote some slots and not others names
                        // the keys: hand them back as the caller's keys.
                        let space = &core.chain.space;
                        call!(core, mset(entries)).map_err(|e| {
                            e.map_detail_strings(&["written", "notWritten", "unknown"], |k| {
                                space
                                    .relative(Namespace::Kv, k.as_bytes())
                                    .unwrap_or(k)
                                    .to_owned()
                            })
                        })
                    }
                }
            },
            |_v| batch.count = count
        )
    }
}

/// A batch set, checked and encoded.
enum Prepared {
    /// For a Redis server: one `MSET`, or a `MULTI`/`EXEC` when an entry
    /// has a TTL, keys and values written straight into it.
    #[cfg(feature = "redis")]
    Redis(crate::RedisAdapter, commands::BatchWrite),
    /// For any other adapter.
    Entries(Vec<MsetEntry>),
}

/// Checks and encodes every entry, in this order for each: key, value, TTL.
fn prepare<'e, T, I, Z>(core: &Core<Z>, entries: I) -> StoreResult<Prepared>
where
    T: Serialize + ?Sized + 'e,
    I: Iterator<Item = BatchEntry<'e, T>>,
    Z: Serializer,
{
    #[cfg(feature = "redis")]
    if let Backend::Redis(redis) = &core.shared.backend {
        let mut write = commands::BatchWrite::new();
        let len = entries.size_hint().0.max(1);
        for e in entries {
            let key = core.redis_key(Namespace::Kv, e.key)?;
            core.with_encoded(e.value, |bytes| {
                let ttl = e.ttl.map(check_ttl).transpose()?;
                write.add(key, bytes, ttl, len);
                Ok::<_, crate::StoreError>(())
            })??;
        }
        return Ok(Prepared::Redis(redis.clone(), write));
    }
    prepare_entries(core, entries).map(Prepared::Entries)
}

/// The entries of a batch set for an adapter's `mset`. Every value is
/// encoded into one buffer (no allocation per value for the encoder). The
/// cluster adapter only copies values into its commands, so its values are
/// slices of that one buffer; any other adapter may keep a value (the memory
/// adapter does), so it gets a copy of its exact size, never a slice that
/// would keep the whole batch alive.
fn prepare_entries<'e, T, I, Z>(core: &Core<Z>, entries: I) -> StoreResult<Vec<MsetEntry>>
where
    T: Serialize + ?Sized + 'e,
    I: Iterator<Item = BatchEntry<'e, T>>,
    Z: Serializer,
{
    let mut prepared = Vec::with_capacity(entries.size_hint().0);
    let mut ends = Vec::with_capacity(entries.size_hint().0);
    let mut buffer = Vec::new();
    for e in entries {
        let key = core.key(Namespace::Kv, e.key)?;
        let start = buffer.len();
        core.serializer().encode_into(e.value, &mut buffer)?;
        core.check_size(buffer.len() - start)?;
        ends.push(buffer.len());
        prepared.push(MsetEntry {
            key,
            value: Bytes::new(),
            ttl: e.ttl.map(check_ttl).transpose()?,
        });
    }
    let copies_values = core.shared.backend.copies_values();
    let shared = copies_values.then(|| Bytes::from(std::mem::take(&mut buffer)));
    let mut start = 0;
    for (entry, end) in prepared.iter_mut().zip(ends) {
        entry.value = match &shared {
            Some(shared) => shared.slice(start..end),
            None => Bytes::copy_from_slice(&buffer[start..end]),
        };
        start = end;
    }
    Ok(prepared)
}
