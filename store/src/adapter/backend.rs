//! [`Backend`]: the adapter a store runs on, as the store calls it. The
//! built-in adapters are variants of their own, which the engine calls
//! directly (unboxed); any other adapter is `Custom`, called through
//! [`StoreAdapter`]. An adapter gives its own variant
//! ([`StoreAdapter::dispatch`]), so nothing is ever downcast.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::StoreAdapter;
use super::memory::MemoryAdapter;

/// The adapter a store runs on, as the store calls it: a built-in adapter
/// directly, any other through [`StoreAdapter`]. An adapter makes its own
/// with [`StoreAdapter::dispatch`].
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
    /// Any other adapter, called through [`StoreAdapter`].
    Custom(Arc<dyn StoreAdapter>),
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Backend")
            .field(&self.adapter().name())
            .finish()
    }
}

impl Backend {
    /// The adapter, for the operations the store runs through the trait.
    pub fn adapter(&self) -> &dyn StoreAdapter {
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
