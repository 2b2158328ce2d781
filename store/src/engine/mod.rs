//! The engine: what every operation of every namespace shares. A handle's
//! [`Core`] (the shared store and one scope chain), its checks, deadlines and
//! scratch buffers, and the operations that reach the adapter through the
//! one dispatch point (`dispatch.rs`: `call!` on the
//! [`Backend`](crate::adapter::Backend)).
//!
//! The namespace modules (`kv`, `counter`, `claim`, `batch`, `dev`,
//! `events`, `streams`) build on it; it knows none of them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::adapter::Backend;
use crate::channel::EventRegistry;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::key::Namespace;
use crate::scope::{Chain, ScopeDef};
use crate::serializer::Serializer;
use crate::telemetry::Ctx;

mod checks;
mod deadline;
mod dispatch;
mod scratch;

pub(crate) use checks::{check_key, check_ttl};
pub(crate) use dispatch::call;
pub(crate) use scratch::PooledKey;

/// A boxed future of the store, returned by the awaitable builders.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// What every handle of one store shares.
pub(crate) struct Shared<Z> {
    /// The adapter, and how the store calls it.
    pub(crate) backend: Backend,
    pub(crate) service: Box<str>,
    pub(crate) serializer: Z,
    pub(crate) timeout: Option<Duration>,
    pub(crate) scopes: &'static [ScopeDef],
    /// Bit `i` set when scope `i` is required.
    pub(crate) required: u64,
    /// The event namespaces given to the builder.
    pub(crate) registries: Vec<EventRegistry>,
    /// Whether the outermost scope is a Redis Cluster hash tag.
    pub(crate) scope_hash_tag: bool,
    /// The longest encoded value the store writes.
    pub(crate) max_value_size: Option<usize>,
    /// The service as a metrics label, shared by every series.
    #[cfg(feature = "metrics")]
    pub(crate) service_label: metrics::SharedString,
}

/// The untyped core of a handle: the shared store and one scope chain. The
/// namespace handles (`kv()`, ...) work on it.
pub(crate) struct Core<Z> {
    pub(crate) shared: Arc<Shared<Z>>,
    pub(crate) chain: Arc<Chain>,
    /// Who acts through this handle; carried in published envelopes.
    pub(crate) actor: Option<Arc<ActorLink>>,
}

/// The actor of a handle: its key and identifier as given.
pub(crate) struct ActorLink {
    pub(crate) key: &'static str,
    pub(crate) id: Box<str>,
}

impl<Z> Clone for Core<Z> {
    fn clone(&self) -> Self {
        Core {
            shared: Arc::clone(&self.shared),
            chain: Arc::clone(&self.chain),
            actor: self.actor.clone(),
        }
    }
}

impl<Z> fmt::Debug for Core<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("scope_depth", &self.chain.depth())
            .finish_non_exhaustive()
    }
}

impl<Z: Serializer> Core<Z> {
    pub(crate) fn serializer(&self) -> &Z {
        &self.shared.serializer
    }

    /// An operation's error as the caller sees it: the operation's code
    /// for a generic failure, and where a connection failure happened.
    #[cold]
    pub(crate) fn fail(&self, e: StoreError, code: ErrorCode) -> StoreError {
        self.shared.backend.locate(e.for_operation(code))
    }

    pub(crate) fn telemetry(&self) -> Ctx<'_> {
        Ctx {
            service: &self.shared.service,
            scope_key: self.chain.innermost_key(),
            scope_depth: self.chain.depth(),
            #[cfg(feature = "metrics")]
            metrics: crate::telemetry::metrics::Started::now(&self.shared.service_label),
        }
    }

    /// `value` encoded by the store's serializer, within `max_value_size`.
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> StoreResult<bytes::Bytes> {
        let bytes = self.shared.serializer.encode(value)?;
        self.check_size(bytes.len())?;
        Ok(bytes)
    }

    /// The full key of `key` in `ns`, after the checks every operation makes.
    pub(crate) fn key(&self, ns: Namespace, key: &str) -> StoreResult<String> {
        self.check(key)?;
        Ok(self.chain.space.key(ns, key))
    }

    pub(crate) fn keys<K: AsRef<str>>(
        &self,
        ns: Namespace,
        keys: &[K],
    ) -> StoreResult<Vec<String>> {
        self.check_required()?;
        // Sized up front: collecting into a `Result` would grow it step by
        // step, copying it each time.
        let mut full = Vec::with_capacity(keys.len());
        for k in keys {
            let k = k.as_ref();
            check_key(k)?;
            full.push(self.chain.space.key(ns, k));
        }
        Ok(full)
    }
}
