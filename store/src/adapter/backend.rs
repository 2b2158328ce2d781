//! [`Backend`]: the adapter a store runs on, as the store calls it. The
//! built-in adapters are variants of their own, whose native futures the
//! engine awaits directly (unboxed); any other adapter is `Custom`, called
//! through [`DynStoreAdapter`]. An adapter gives its own variant
//! ([`StoreAdapter::into_backend`]), so nothing is ever downcast to dispatch.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::memory::MemoryAdapter;
use super::{DynStoreAdapter, StoreAdapter};

/// The adapter a store runs on, as the store calls it: a built-in adapter
/// directly, any other through [`DynStoreAdapter`]. An adapter makes its own
/// with [`StoreAdapter::into_backend`] (or [`Backend::new`]).
///
/// Cloning is cheap and shares the adapter: stores built with clones of one
/// `Backend` ([`StoreBuilder::shared_adapter`](crate::StoreBuilder::shared_adapter))
/// share its connections and data.
#[derive(Clone)]
#[non_exhaustive]
pub enum Backend {
    /// The memory adapter, called synchronously.
    Memory(MemoryAdapter),
    /// One Redis server.
    #[cfg(feature = "redis")]
    Redis(crate::RedisAdapter),
    /// A Redis Cluster.
    #[cfg(feature = "cluster")]
    Cluster(crate::RedisClusterAdapter),
    /// Any other adapter, called through [`DynStoreAdapter`].
    Custom(Arc<dyn DynStoreAdapter>),
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Backend")
            .field(&self.adapter().name())
            .finish()
    }
}

impl Backend {
    /// Adds where a built-in network adapter connects to a connection
    /// failure (`details.address`, and the message); other errors and
    /// adapters are returned as they are.
    #[cold]
    pub(crate) fn locate(&self, e: crate::error::StoreError) -> crate::error::StoreError {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(adapter) => crate::adapter::redis::at_address(e, adapter.address()),
            #[cfg(feature = "cluster")]
            Backend::Cluster(adapter) => crate::adapter::redis::at_address(e, adapter.address()),
            _ => e,
        }
    }

    /// The backend of `adapter`: [`StoreAdapter::into_backend`].
    pub fn new(adapter: impl StoreAdapter) -> Backend {
        adapter.into_backend()
    }

    /// The adapter as an object, whatever it is: for calls outside the
    /// store's operations (its futures are boxed).
    pub fn adapter(&self) -> &dyn DynStoreAdapter {
        match self {
            Backend::Memory(memory) => memory,
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis,
            #[cfg(feature = "cluster")]
            Backend::Cluster(cluster) => cluster,
            Backend::Custom(custom) => &**custom,
        }
    }

    /// The adapter as its concrete type `T`, if it is one.
    pub fn adapter_as<T: StoreAdapter>(&self) -> Option<&T> {
        let any: &dyn Any = self.adapter();
        any.downcast_ref()
    }

    /// Whether the adapter copies values into its commands (the Redis
    /// adapters), so that a batch can encode them in a buffer it reuses.
    pub(crate) fn copies_values(&self) -> bool {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(_) => true,
            #[cfg(feature = "cluster")]
            Backend::Cluster(_) => true,
            _ => false,
        }
    }
}
