//! The conformance suite on [`RedisAdapter`] reached through the
//! [`StoreAdapter`] trait only, against a `redis-server` this test binary
//! starts for itself: the adapter is wrapped in a forwarding adapter of
//! another type, so every operation takes the trait's path rather than the
//! store's direct calls (see `trait_path.rs`).

mod conformance;
mod support;

use std::sync::{Arc, OnceLock};

use conformance::Harness;
use conformance::cases::CountingAdapter;
use igniter_store::{RedisAdapter, StoreAdapter};

struct Forwarded {
    url: String,
}

impl Forwarded {
    fn connect(
        &self,
        capacity: Option<usize>,
    ) -> futures::future::BoxFuture<'static, Arc<dyn StoreAdapter>> {
        let url = self.url.clone();
        Box::pin(async move {
            let mut builder = RedisAdapter::builder(&url);
            if let Some(capacity) = capacity {
                builder = builder.subscriber_capacity(capacity);
            }
            let adapter = builder.connect().await.expect("connect to the test server");
            Arc::new(CountingAdapter::new(Arc::new(adapter))) as Arc<dyn StoreAdapter>
        })
    }
}

impl Harness for Forwarded {
    fn adapter(&self) -> futures::future::BoxFuture<'static, Arc<dyn StoreAdapter>> {
        self.connect(None)
    }

    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Arc<dyn StoreAdapter>> {
        self.connect(Some(capacity))
    }
}

fn forwarded() -> Option<&'static dyn Harness> {
    if support::skip_redis() {
        return None;
    }
    static H: OnceLock<Forwarded> = OnceLock::new();
    Some(H.get_or_init(|| Forwarded {
        url: support::shared().url(),
    }))
}

conformance_suite!(forwarded);
