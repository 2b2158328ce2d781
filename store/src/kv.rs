//! Key-value entries with TTLs: [`Kv`].

use crate::engine::call;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adapter::KeyTtl;
use crate::adapter::memory::MemoryAdapter;
use crate::engine::{Core, check_ttl};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::key::Namespace;
use crate::serializer::Serializer;
use crate::telemetry::{ms, op};

pub use crate::engine::StoreFuture;

/// Key-value entries in the `kv` namespace of one scope chain; from
/// [`Store::kv`](crate::Store::kv).
///
/// ```
/// use std::time::Duration;
/// use igniter_store::{MemoryAdapter, Store, adapter::KeyTtl};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// let kv = store.kv();
/// kv.set("session", &vec!["a", "b"]).ttl(Duration::from_secs(60)).await?;
/// let session: Option<Vec<String>> = kv.get("session").await?;
/// assert_eq!(session, Some(vec!["a".to_owned(), "b".to_owned()]));
/// assert!(matches!(kv.ttl("session").await?, KeyTtl::Expires(_)));
/// assert!(kv.remove("session").await?);
/// assert!(!kv.exists("session").await?);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Kv<'a, Z> {
    core: &'a Core<Z>,
}

impl<'a, Z: Serializer> Kv<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Kv { core }
    }

    /// The full key of `key`, for commands the store does not wrap.
    pub fn key(&self, key: &str) -> StoreResult<String> {
        self.core.key(Namespace::Kv, key)
    }

    /// The value at `key`, decoded as `T`, or `None` when there is none.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let core = self.core;
        if let Some(memory) = core.memory() {
            // Completes on the first poll: no deadline to arm, no adapter
            // future to poll.
            return op!(
                now core,
                "kv",
                "kv",
                "get",
                ErrorCode::GetFailed,
                core.memory_get(memory, Namespace::Kv, key, |bytes| core.serializer().decode(bytes)),
                |v| kv.found = v.is_some()
            );
        }
        op!(
            core,
            "kv",
            "kv",
            "get",
            ErrorCode::GetFailed,
            core.get_with(Namespace::Kv, key, |bytes| core.serializer().decode(bytes)),
            |v| kv.found = v.is_some()
        )
    }

    /// Writes `value` at `key`; await the returned builder, after `.ttl(..)`
    /// if the entry should expire. Without a TTL the entry stays until it is
    /// removed (and a previous TTL is cleared, as with Redis's `SET`).
    pub fn set<T: Serialize + ?Sized>(&self, key: &'a str, value: &'a T) -> KvSet<'a, T, Z> {
        KvSet {
            core: self.core,
            key,
            value,
            ttl: None,
        }
    }

    /// Whether `key` holds a value.
    pub async fn exists(&self, key: &str) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "exists",
            ErrorCode::GetFailed,
            core.exists_key(Namespace::Kv, key),
            |v| kv.existed = *v
        )
    }

    /// Removes `key`; whether it existed.
    pub async fn remove(&self, key: &str) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "remove",
            ErrorCode::DeleteFailed,
            async {
                let full = core.key(Namespace::Kv, key)?;
                Ok(call!(core, del(&[full.into()]))? > 0)
            },
            |v| kv.existed = *v
        )
    }

    /// Sets the TTL of `key`; whether it exists.
    pub async fn expire(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "expire",
            ErrorCode::SetFailed,
            async {
                let full = core.pooled_key(Namespace::Kv, key)?;
                let ttl = check_ttl(ttl)?;
                call!(core, pexpire(&full, ttl))
            },
            |v| kv.existed = *v,
            kv.ttl = ms(Some(ttl))
        )
    }

    /// Refreshes the TTL of `key` (the same as [`Kv::expire`], as in the
    /// TypeScript package); whether it exists.
    pub async fn touch(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "touch",
            ErrorCode::SetFailed,
            async {
                let full = core.pooled_key(Namespace::Kv, key)?;
                let ttl = check_ttl(ttl)?;
                call!(core, pexpire(&full, ttl))
            },
            |v| kv.existed = *v,
            kv.ttl = ms(Some(ttl))
        )
    }

    /// The remaining life of `key`.
    pub async fn ttl(&self, key: &str) -> StoreResult<KeyTtl> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "ttl",
            ErrorCode::GetFailed,
            async {
                let full = core.pooled_key(Namespace::Kv, key)?;
                call!(core, pttl(&full))
            },
            |v| kv.found = !matches!(v, KeyTtl::Missing),
            kv.ttl = ms(match v {
                KeyTtl::Expires(d) => Some(*d),
                _ => None,
            })
        )
    }

    /// Removes the TTL of `key`; whether it had one.
    pub async fn persist(&self, key: &str) -> StoreResult<bool> {
        let core = self.core;
        op!(
            core,
            "kv",
            "kv",
            "persist",
            ErrorCode::SetFailed,
            async {
                let full = core.pooled_key(Namespace::Kv, key)?;
                call!(core, persist(&full))
            },
            |v| kv.existed = *v
        )
    }
}

/// A pending [`Kv::set`]: add `.ttl(..)`, then `.await` it.
#[must_use = "a set does nothing until it is awaited"]
#[derive(Debug)]
pub struct KvSet<'a, T: ?Sized, Z> {
    core: &'a Core<Z>,
    key: &'a str,
    value: &'a T,
    ttl: Option<Duration>,
}

impl<'a, T: ?Sized, Z> KvSet<'a, T, Z> {
    /// The entry expires after `ttl` (whole milliseconds, rounded up; zero is
    /// refused with `STORE_TTL_INVALID`).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl<'a, T: Serialize + ?Sized, Z: Serializer> IntoFuture for KvSet<'a, T, Z> {
    type Output = StoreResult<()>;
    type IntoFuture = KvSetFuture<'a, Z>;

    fn into_future(self) -> Self::IntoFuture {
        let KvSet {
            core,
            key,
            value,
            ttl,
        } = self;
        // Checked and encoded now: the future then holds no `&T`, so `T`
        // need not be `Sync`.
        let state = match core.memory() {
            // In the order of `Core::set_command`: the key, the TTL, then
            // the value's encoding and size.
            Some(memory) => SetState::Now {
                core,
                memory,
                key,
                prepared: core
                    .check(key)
                    .and_then(|()| ttl.map(check_ttl).transpose())
                    .and_then(|checked| Ok((core.encode(value)?, checked))),
                ttl,
            },
            None => {
                let command = core.set_command(Namespace::Kv, key, value, ttl);
                SetState::Later(Box::pin(async move {
                    op!(
                        core,
                        "kv",
                        "kv",
                        "set",
                        ErrorCode::SetFailed,
                        async { core.set_run(Namespace::Kv, key, command?).await.map(drop) },
                        |_v| kv.ttl = ms(ttl)
                    )
                }))
            }
        };
        KvSetFuture { state }
    }
}

/// The future of an awaited [`KvSet`].
///
/// On the memory adapter, whose commands complete at once, the set runs on
/// the first poll without a boxed future; on any other adapter this wraps a
/// [`StoreFuture`]. Polled again after it completed, it resolves to an
/// `STORE_OPERATION_FAILED` error rather than panicking.
#[must_use = "futures do nothing unless polled"]
pub struct KvSetFuture<'a, Z> {
    state: SetState<'a, Z>,
}

enum SetState<'a, Z> {
    /// On the memory adapter: the checked and encoded value and its TTL,
    /// written on the first poll.
    Now {
        core: &'a Core<Z>,
        memory: &'a MemoryAdapter,
        key: &'a str,
        prepared: StoreResult<(Bytes, Option<Duration>)>,
        /// As given, for telemetry.
        ttl: Option<Duration>,
    },
    /// On any other adapter.
    Later(StoreFuture<'a, ()>),
    /// Polled to completion.
    Done,
}

impl<Z> fmt::Debug for KvSetFuture<'_, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSetFuture").finish_non_exhaustive()
    }
}

impl<Z: Serializer> Future for KvSetFuture<'_, Z> {
    type Output = StoreResult<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::mem::replace(&mut self.state, SetState::Done) {
            SetState::Now {
                core,
                memory,
                key,
                prepared,
                ttl,
            } => Poll::Ready(op!(
                now core,
                "kv",
                "kv",
                "set",
                ErrorCode::SetFailed,
                prepared.and_then(|(value, checked)| {
                    core.with_checked_key(Namespace::Kv, key, |full| {
                        memory.set_string(full, value, checked)
                    })
                }),
                |_v| kv.ttl = ms(ttl)
            )),
            SetState::Later(mut future) => {
                let poll = future.as_mut().poll(cx);
                if poll.is_pending() {
                    self.state = SetState::Later(future);
                }
                poll
            }
            SetState::Done => Poll::Ready(Err(StoreError::new(
                ErrorCode::OperationFailed,
                "a kv set future was polled after it completed",
            ))),
        }
    }
}
