//! The conformance suite on the memory adapter reached through the
//! [`StoreAdapter`] trait only.
//!
//! The store calls its built-in adapters directly for its hottest commands
//! (`store/src/direct.rs`), and any other adapter through the trait. Here the
//! memory adapter is wrapped in a forwarding adapter of another type, so
//! every operation takes the trait's path: the suite holds both paths to the
//! same behaviour (`trait_path_redis.rs` does the same on Redis).

mod conformance;

use std::sync::{Arc, OnceLock};

use conformance::Harness;
use conformance::cases::CountingAdapter;
use igniter_store::{MemoryAdapter, StoreAdapter};

struct Forwarded(MemoryAdapter);

impl Harness for Forwarded {
    fn adapter(&self) -> futures::future::BoxFuture<'static, Arc<dyn StoreAdapter>> {
        let adapter: Arc<dyn StoreAdapter> =
            Arc::new(CountingAdapter::new(Arc::new(self.0.clone())));
        Box::pin(async move { adapter })
    }

    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Arc<dyn StoreAdapter>> {
        let inner = MemoryAdapter::with_subscriber_capacity(capacity);
        let adapter: Arc<dyn StoreAdapter> = Arc::new(CountingAdapter::new(Arc::new(inner)));
        Box::pin(async move { adapter })
    }
}

fn forwarded() -> Option<&'static dyn Harness> {
    static H: OnceLock<Forwarded> = OnceLock::new();
    Some(H.get_or_init(|| Forwarded(MemoryAdapter::new())))
}

conformance_suite!(forwarded);
