//! The one place that picks how an operation reaches the adapter.
//!
//! - [`call!`] runs one [`StoreAdapter`] method on the store's [`Backend`]:
//!   on a built-in adapter it awaits the method's native future directly (no
//!   box; the memory adapter's complete on their first poll), on a custom
//!   one it goes through [`DynStoreAdapter`](crate::adapter::DynStoreAdapter)
//!   (a boxed future). Every operation of the namespace modules reaches the
//!   adapter through it or through the methods below.
//! - On Redis and Redis Cluster the hottest operations (kv get, set and
//!   exists, `MGET`, counters, stream appends) skip even the trait: the key
//!   is written piece by piece, and a value from a buffer of the thread,
//!   straight into a `redis` command built at its final size, and the command
//!   functions the adapters' trait methods run too are awaited unboxed.
//!
//! The behaviour is the same on every path: the conformance suite runs on
//! each built-in adapter and on the memory and Redis adapters behind a
//! forwarding adapter (the trait's path), all in one test binary,
//! `tests/conformance_suite.rs`.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

#[cfg(feature = "redis")]
use super::check_key;
use super::{Core, check_ttl};
use crate::adapter::memory::MemoryAdapter;
use crate::adapter::{Backend, MaxLen, SetCondition, SetOptions, StoreAdapter};
use crate::error::StoreResult;
use crate::key::Namespace;
use crate::serializer::Serializer;

/// A `SET` ready to run; from [`Core::set_command`].
pub(crate) enum SetCommand<'a> {
    /// The command for a Redis adapter, key and value written in, and the
    /// adapter to run it on (its connection is taken when the set runs, so
    /// a set prepared before `close()` and run after it fails).
    #[cfg(feature = "redis")]
    Redis {
        target: crate::adapter::redis::connection::RedisTarget<'a>,
        cmd: redis::Cmd,
    },
    /// The encoded value and the adapter to write it with: a custom one (a
    /// kv set on the memory adapter takes its own path, in `kv.rs`, and runs
    /// on its first poll).
    Bytes {
        value: Bytes,
        options: SetOptions,
        adapter: &'a dyn crate::adapter::DynStoreAdapter,
    },
}

/// Awaits `method(args..)` of [`StoreAdapter`] on the adapter of `core` (a
/// [`Core`]): the one dispatch point. A built-in adapter's native future is
/// awaited directly, a custom adapter's boxed one through
/// [`DynStoreAdapter`](crate::adapter::DynStoreAdapter). The arguments are
/// evaluated in the arm that runs (once).
macro_rules! call {
    ($core:expr, $method:ident($($arg:expr),* $(,)?)) => {
        match &$core.shared.backend {
            $crate::adapter::Backend::Memory(adapter) => {
                $crate::adapter::StoreAdapter::$method(adapter, $($arg),*).await
            }
            #[cfg(feature = "redis")]
            $crate::adapter::Backend::Redis(adapter) => {
                $crate::adapter::StoreAdapter::$method(adapter, $($arg),*).await
            }
            #[cfg(feature = "cluster")]
            $crate::adapter::Backend::Cluster(adapter) => {
                $crate::adapter::StoreAdapter::$method(adapter, $($arg),*).await
            }
            $crate::adapter::Backend::Custom(adapter) => {
                $crate::adapter::DynStoreAdapter::$method(&**adapter, $($arg),*).await
            }
        }
    };
}
pub(crate) use call;

/// The result of a memory adapter command, whose future completes on its
/// first poll (the adapter never waits): resolved here without an await
/// point, so the operation's own future carries no state for it.
#[inline]
pub(crate) fn at_once<T>(command: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(command).poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(crate::error::StoreError::new(
            crate::error::ErrorCode::OperationFailed,
            "a memory command did not complete at once",
        )),
    }
}

impl<Z: Serializer> Core<Z> {
    /// The memory adapter, when the store runs on it: its commands complete
    /// at once, so an operation on it can run on its first poll, unboxed.
    pub(crate) fn memory(&self) -> Option<&MemoryAdapter> {
        match &self.shared.backend {
            Backend::Memory(memory) => Some(memory),
            _ => None,
        }
    }

    /// The full key of `key` in `ns`, to write into a Redis command, after
    /// the checks every operation makes.
    #[cfg(feature = "redis")]
    pub(crate) fn redis_key<'k>(
        &'k self,
        ns: Namespace,
        key: &'k str,
    ) -> StoreResult<crate::key::RedisKey<'k>> {
        self.check(key)?;
        Ok(self.chain.space.redis_key(ns, key))
    }

    /// `GET` of `key` in `ns` on the memory adapter, read by `read`: at
    /// once, with no future (an operation that calls it needs no deadline).
    pub(crate) fn memory_get<R>(
        &self,
        memory: &MemoryAdapter,
        ns: Namespace,
        key: &str,
        read: impl FnOnce(&[u8]) -> StoreResult<R>,
    ) -> StoreResult<Option<R>> {
        let found = self.with_key(ns, key, |full| memory.get_string(full))?;
        found.map(|bytes| read(&bytes)).transpose()
    }

    /// `GET` of `key` in `ns`, read by `read`.
    pub(crate) async fn get_with<R>(
        &self,
        ns: Namespace,
        key: &str,
        read: impl FnOnce(&[u8]) -> StoreResult<R>,
    ) -> StoreResult<Option<R>> {
        if let Backend::Memory(memory) = &self.shared.backend {
            return self.memory_get(memory, ns, key, read);
        }
        #[cfg(feature = "redis")]
        if let Some(target) = self.shared.backend.redis() {
            let full = self.redis_key(ns, key)?;
            let found = crate::adapter::redis::commands::get(&mut target.open()?, full).await?;
            return found.map(|bytes| read(&bytes)).transpose();
        }
        // A custom adapter (the built-in ones are taken above).
        let full = self.pooled_key(ns, key)?;
        let found = self.shared.backend.adapter().get(&full).await?;
        found.map(|bytes| read(&bytes)).transpose()
    }

    /// `EXISTS` of `key` in `ns`.
    pub(crate) async fn exists_key(&self, ns: Namespace, key: &str) -> StoreResult<bool> {
        if let Backend::Memory(memory) = &self.shared.backend {
            return self.with_key(ns, key, |full| at_once(StoreAdapter::exists(memory, full)));
        }
        #[cfg(feature = "redis")]
        if let Some(target) = self.shared.backend.redis() {
            let full = self.redis_key(ns, key)?;
            return crate::adapter::redis::commands::exists(&mut target.open()?, full).await;
        }
        let full = self.pooled_key(ns, key)?;
        self.shared.backend.adapter().exists(&full).await
    }

    /// A `SET` of `value` at `key` in `ns`, expiring after `ttl`, ready to
    /// run: the key's checks, then the TTL's, then the value's encoding and
    /// size, all before any I/O. Synchronous, so that the value need not be
    /// `Sync` for the operation's future to be `Send`.
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub(crate) fn set_command<T: Serialize + ?Sized>(
        &self,
        ns: Namespace,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> StoreResult<SetCommand<'_>> {
        self.check(key)?;
        let options = SetOptions::new(ttl.map(check_ttl).transpose()?, SetCondition::Always);
        #[cfg(feature = "redis")]
        if let Some(target) = self.shared.backend.redis() {
            let full = self.chain.space.redis_key(ns, key);
            let cmd = self.with_encoded(value, |bytes| {
                crate::adapter::redis::commands::set_command(full, bytes, options)
            })?;
            return Ok(SetCommand::Redis { target, cmd });
        }
        Ok(SetCommand::Bytes {
            value: self.encode(value)?,
            options,
            adapter: self.shared.backend.adapter(),
        })
    }

    /// Runs a [`Core::set_command`] of the same `key` and `ns`: whether the
    /// value was written.
    pub(crate) async fn set_run(
        &self,
        ns: Namespace,
        key: &str,
        command: SetCommand<'_>,
    ) -> StoreResult<bool> {
        match command {
            #[cfg(feature = "redis")]
            SetCommand::Redis { target, cmd } => {
                crate::adapter::redis::commands::set_reply(&mut target.open()?, &cmd).await
            }
            // A custom adapter (a Redis set is a `SetCommand::Redis`).
            SetCommand::Bytes {
                value,
                options,
                adapter,
            } => {
                let full = self.pooled_key(ns, key)?;
                adapter.set(&full, value, options).await
            }
        }
    }

    /// `MGET` of `keys` in `ns`, each value read by `read`, in order; after
    /// the checks of every key. No I/O for no keys.
    pub(crate) async fn mget_with<K: AsRef<str>, R>(
        &self,
        ns: Namespace,
        keys: &[K],
        read: impl Fn(&[u8]) -> StoreResult<R>,
    ) -> StoreResult<Vec<Option<R>>> {
        // Sized up front (a `collect` into a `Result` is not).
        fn read_all<B: AsRef<[u8]>, R>(
            found: Vec<Option<B>>,
            read: impl Fn(&[u8]) -> StoreResult<R>,
        ) -> StoreResult<Vec<Option<R>>> {
            let mut values = Vec::with_capacity(found.len());
            for bytes in found {
                values.push(bytes.map(|b| read(b.as_ref())).transpose()?);
            }
            Ok(values)
        }
        #[cfg(feature = "redis")]
        if let Backend::Redis(redis) = &self.shared.backend {
            use crate::adapter::redis::commands;
            self.check_required()?;
            for key in keys {
                check_key(key.as_ref())?;
            }
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            // Each full key is assembled after the shared prefix in one
            // string and copied into the command as one argument: cheaper,
            // over many keys, than writing each in three pieces.
            let mut full = self.chain.space.namespace_prefix(ns);
            let prefix = full.len();
            let data = keys.iter().map(|k| prefix + k.as_ref().len()).sum();
            let mut cmd = commands::command("MGET", keys.len(), data);
            for key in keys {
                full.truncate(prefix);
                full.push_str(key.as_ref());
                cmd.arg(full.as_str());
            }
            let found = commands::mget_reply(&mut redis.open()?, &cmd).await?;
            return read_all(found, read);
        }
        let full = self.keys(ns, keys)?;
        if full.is_empty() {
            return Ok(Vec::new());
        }
        read_all(call!(self, mget(&full))?, read)
    }

    /// `XADD` of `payload` (its encoding's failure, if it failed: reported
    /// after the key's) to the stream `name` (a name checked already).
    pub(crate) async fn xadd_key(
        &self,
        name: &str,
        payload: StoreResult<Bytes>,
        max_len: Option<MaxLen>,
    ) -> StoreResult<String> {
        #[cfg(feature = "redis")]
        if let Some(target) = self.shared.backend.redis() {
            let full = self.redis_key(Namespace::Streams, name)?;
            let payload = payload?;
            return crate::adapter::redis::streams::xadd(
                &mut target.open()?,
                full,
                &payload,
                max_len,
            )
            .await;
        }
        let full = self.pooled_key(Namespace::Streams, name)?;
        call!(self, xadd(&full, payload?, max_len))
    }

    /// `INCRBY` of the counter `key` in `ns`, with `ttl` set if it creates
    /// the counter (atomically).
    pub(crate) async fn incr_by_key(
        &self,
        ns: Namespace,
        key: &str,
        delta: i64,
        ttl: Option<Duration>,
    ) -> StoreResult<i64> {
        if let Backend::Memory(memory) = &self.shared.backend {
            return self.with_key(ns, key, |full| {
                at_once(StoreAdapter::incr_by(memory, full, delta, ttl))
            });
        }
        #[cfg(feature = "redis")]
        if let Some(target) = self.shared.backend.redis() {
            let full = self.redis_key(ns, key)?;
            return crate::adapter::redis::commands::incr_by(&mut target.open()?, full, delta, ttl)
                .await;
        }
        let full = self.pooled_key(ns, key)?;
        self.shared
            .backend
            .adapter()
            .incr_by(&full, delta, ttl)
            .await
    }
}
