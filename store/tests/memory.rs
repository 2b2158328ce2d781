//! What only [`MemoryAdapter`] promises (tokio's clock); the conformance
//! suite on it runs in `conformance_suite.rs`.

mod conformance;

use std::time::Duration;

use conformance::Tenant;
use futures::TryStreamExt;
use igniter_store::{
    MemoryAdapter, Store, StoreAdapter, adapter::KeyTtl, batch::BatchEntry, scope::Dynamic,
};

/// A store on a paused clock, scoped to an organization.
fn paused_store() -> (MemoryAdapter, Store<Dynamic<Tenant>>) {
    let adapter = MemoryAdapter::new();
    let store = Store::builder()
        .adapter(adapter.clone())
        .service("svc")
        .scopes::<Tenant>()
        .no_timeout()
        .build()
        .unwrap();
    (adapter, store.scope(Tenant::Organization, "o").unwrap())
}

#[tokio::test(start_paused = true)]
async fn expiry_follows_tokio_clock_under_pause() {
    let (adapter, s) = paused_store();
    let ttl = Duration::from_millis(50);
    s.kv().set("k", &1).ttl(ttl).await.unwrap();
    s.batch()
        .set([BatchEntry::new("b", &1).ttl(ttl)])
        .await
        .unwrap();
    s.counter().increment("c").ttl_on_create(ttl).await.unwrap();
    let claim = s.claim().acquire("l", ttl).await.unwrap().unwrap();

    tokio::time::advance(Duration::from_millis(49)).await;
    assert!(s.kv().exists("k").await.unwrap());
    assert_eq!(
        s.kv().ttl("k").await.unwrap(),
        KeyTtl::Expires(Duration::from_millis(1))
    );
    assert_eq!(adapter.len(), 5, "kv, batch, counter, claim, fence");

    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(!s.kv().exists("k").await.unwrap());
    assert_eq!(s.kv().get::<i32>("b").await.unwrap(), None);
    assert_eq!(s.counter().get("c").await.unwrap(), 0);
    assert!(!claim.release().await.unwrap());
    let keys: Vec<String> = s.dev().scan_all("*").try_collect().await.unwrap();
    assert!(keys.is_empty());
    // reclaimed: only the fencing counter (which never expires) is left
    assert_eq!(adapter.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn expired_memory_is_reclaimed_without_reads() {
    let (adapter, s) = paused_store();
    for i in 0..1000 {
        s.kv()
            .set(&format!("k{i}"), &i)
            .ttl(Duration::from_secs(1))
            .await
            .unwrap();
    }
    assert_eq!(adapter.len(), 1000);
    tokio::time::advance(Duration::from_secs(2)).await;
    // any operation, on any key, reclaims every expired entry
    s.kv().exists("unrelated").await.unwrap();
    assert_eq!(adapter.len(), 0);
}

#[tokio::test]
async fn deadline_applies_to_every_operation() {
    // an adapter that never answers
    use igniter_store::adapter;
    struct Stuck;
    impl StoreAdapter for Stuck {
        fn name(&self) -> &'static str {
            "stuck"
        }
        async fn get(&self, _: &str) -> igniter_store::StoreResult<Option<bytes::Bytes>> {
            std::future::pending().await
        }
        async fn set(
            &self,
            _: &str,
            _: bytes::Bytes,
            _: igniter_store::adapter::SetOptions,
        ) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn del(&self, _: &[bytes::Bytes]) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn exists(&self, _: &str) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn pexpire(&self, _: &str, _: Duration) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn pttl(&self, _: &str) -> igniter_store::StoreResult<KeyTtl> {
            std::future::pending().await
        }
        async fn persist(&self, _: &str) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn incr_by(
            &self,
            _: &str,
            _: i64,
            _: Option<Duration>,
        ) -> igniter_store::StoreResult<i64> {
            std::future::pending().await
        }
        async fn mget(
            &self,
            _: &[String],
        ) -> igniter_store::StoreResult<Vec<Option<bytes::Bytes>>> {
            std::future::pending().await
        }
        async fn mset(
            &self,
            _: Vec<igniter_store::adapter::MsetEntry>,
        ) -> igniter_store::StoreResult<()> {
            std::future::pending().await
        }
        async fn claim_acquire(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: Duration,
        ) -> igniter_store::StoreResult<Option<u64>> {
            std::future::pending().await
        }
        async fn compare_and_delete(&self, _: &str, _: &[u8]) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn compare_and_expire(
            &self,
            _: &str,
            _: &[u8],
            _: Duration,
        ) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn scan(
            &self,
            _: &igniter_store::adapter::ScanCursor,
            _: &str,
            _: usize,
        ) -> igniter_store::StoreResult<igniter_store::adapter::ScanReply> {
            std::future::pending().await
        }
        async fn publish(&self, _: &str, _: bytes::Bytes) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn subscribe(
            &self,
            _: adapter::TopicKind,
            _: &str,
        ) -> igniter_store::StoreResult<adapter::RawSubscription> {
            std::future::pending().await
        }
        fn active_subscriptions(&self) -> (usize, usize) {
            (0, 0)
        }
        async fn xadd(
            &self,
            _: &str,
            _: bytes::Bytes,
            _: Option<adapter::MaxLen>,
        ) -> igniter_store::StoreResult<String> {
            std::future::pending().await
        }
        async fn xrange(
            &self,
            _: &str,
            _: &adapter::RangeQuery,
        ) -> igniter_store::StoreResult<Vec<adapter::RawEntry>> {
            std::future::pending().await
        }
        async fn xlen(&self, _: &str) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn xtrim(&self, _: &str, _: adapter::MaxLen) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn xgroup_create(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> igniter_store::StoreResult<bool> {
            std::future::pending().await
        }
        async fn xgroup_delconsumer(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn xreadgroup(
            &self,
            _: &str,
            _: &adapter::GroupRead,
        ) -> igniter_store::StoreResult<Vec<adapter::RawEntry>> {
            std::future::pending().await
        }
        async fn xack(&self, _: &str, _: &str, _: &[String]) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn xpending_summary(
            &self,
            _: &str,
            _: &str,
        ) -> igniter_store::StoreResult<adapter::PendingSummary> {
            std::future::pending().await
        }
        async fn xpending(
            &self,
            _: &str,
            _: &str,
            _: &adapter::RangeQuery,
            _: Option<&str>,
        ) -> igniter_store::StoreResult<Vec<adapter::PendingEntry>> {
            std::future::pending().await
        }
        async fn xautoclaim(
            &self,
            _: &str,
            _: &adapter::GroupRead,
            _: Duration,
            _: &str,
        ) -> igniter_store::StoreResult<adapter::AutoClaim> {
            std::future::pending().await
        }
        async fn xclaim(
            &self,
            _: &str,
            _: &adapter::GroupRead,
            _: Duration,
            _: &[String],
        ) -> igniter_store::StoreResult<Vec<adapter::RawEntry>> {
            std::future::pending().await
        }
        async fn xinfo_groups(
            &self,
            _: &str,
        ) -> igniter_store::StoreResult<Vec<adapter::GroupInfo>> {
            std::future::pending().await
        }
        async fn xinfo_consumers(
            &self,
            _: &str,
            _: &str,
        ) -> igniter_store::StoreResult<Vec<adapter::ConsumerInfo>> {
            std::future::pending().await
        }
        async fn xdel(&self, _: &str, _: &[String]) -> igniter_store::StoreResult<u64> {
            std::future::pending().await
        }
        async fn xmove(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> igniter_store::StoreResult<Option<String>> {
            std::future::pending().await
        }
        async fn close(&self) -> igniter_store::StoreResult<()> {
            Ok(())
        }
    }
    let store = Store::builder()
        .adapter(Stuck)
        .service("svc")
        .timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = store.kv().get::<i32>("k").await.unwrap_err();
    assert_eq!(err.code(), igniter_store::ErrorCode::Timeout);
    assert_eq!(
        store.counter().increment("c").await.unwrap_err().code(),
        igniter_store::ErrorCode::Timeout
    );
    assert_eq!(
        store.purge().await.unwrap_err().code(),
        igniter_store::ErrorCode::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn closed_adapter_refuses_operations() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("svc")
        .build()
        .unwrap();
    store.kv().set("k", &1).await.unwrap();
    store.close().await.unwrap();
    assert_eq!(
        store.kv().get::<i32>("k").await.unwrap_err().code(),
        igniter_store::ErrorCode::NotConnected
    );
}

#[tokio::test]
async fn escape_hatch_reaches_the_concrete_adapter() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("svc")
        .build()
        .unwrap();
    store.kv().set("k", &1).await.unwrap();
    let memory = store
        .adapter_as::<MemoryAdapter>()
        .expect("a memory adapter");
    assert_eq!(memory.len(), 1);
}

mod events_memory {
    use super::conformance::{Billing, Tenant, user};
    use futures::StreamExt;
    use igniter_store::{ErrorCode, MemoryAdapter, Store};

    fn store(adapter: MemoryAdapter) -> Store<Tenant> {
        Store::builder()
            .adapter(adapter)
            .service("svc")
            .scopes::<Tenant>()
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn close_ends_every_subscription() {
        let adapter = MemoryAdapter::new();
        let s = store(adapter.clone())
            .scope(Tenant::Organization, "o")
            .unwrap();
        let mut one = s.events().subscribe(&user::CREATED).await.unwrap();
        let mut all = s.events().subscribe_all::<Billing>().await.unwrap();
        s.close().await.unwrap();
        assert!(one.next().await.is_none());
        assert!(all.next().await.is_none());
        let err = s.events().subscribe(&user::CREATED).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotConnected);
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let err = Store::builder()
            .adapter(MemoryAdapter::new())
            .service("svc")
            .events(user::REGISTRY)
            .events(Billing::REGISTRY)
            .events(user::REGISTRY)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::DuplicateNamespace);
    }

    #[test]
    fn hand_written_registries_follow_the_rules() {
        use igniter_store::{events::ChannelDef, events::EventRegistry};
        const SPACE: &[ChannelDef] = &[ChannelDef::new("a:b c", "T")];
        const OTHER_NS: &[ChannelDef] = &[ChannelDef::new("b:c", "T")];
        const TWICE: &[ChannelDef] = &[ChannelDef::new("a:x", "T"), ChannelDef::new("a:x", "U")];
        const FINE: &[ChannelDef] = &[ChannelDef::new("ignore:ignition", "T")];
        let cases = [
            (
                EventRegistry::new("igniter", &[]),
                ErrorCode::ReservedNamespace,
            ),
            (EventRegistry::new("a:b", &[]), ErrorCode::InvalidNamespace),
            (EventRegistry::new("a", SPACE), ErrorCode::InvalidEventName),
            (
                EventRegistry::new("a", OTHER_NS),
                ErrorCode::InvalidEventName,
            ),
            (EventRegistry::new("a", TWICE), ErrorCode::DuplicateEvent),
        ];
        for (registry, code) in cases {
            let err = Store::builder()
                .adapter(MemoryAdapter::new())
                .service("svc")
                .events(registry)
                .build()
                .unwrap_err();
            assert_eq!(err.code(), code, "{registry:?}");
        }
        assert!(
            Store::builder()
                .adapter(MemoryAdapter::new())
                .service("svc")
                .events(EventRegistry::new("ignore", FINE))
                .build()
                .is_ok()
        );
    }
}

#[tokio::test]
async fn scan_cursors_name_no_scope_and_foreign_ones_are_refused() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("svc")
        .scopes::<Tenant>()
        .build()
        .unwrap();
    let s = store.scope(Tenant::Organization, "tenant-id").unwrap();
    for i in 0..30 {
        s.kv().set(&format!("k{i:02}"), &i).await.unwrap();
    }
    let page = s.dev().scan("*").count(10).await.unwrap();
    let cursor = page.cursor.expect("more pages");
    assert!(!cursor.as_str().contains("tenant-id"), "{cursor:?}");
    assert!(!cursor.as_str().contains("svc"), "{cursor:?}");
    let next = s.dev().scan("*").count(10).cursor(cursor).await.unwrap();
    assert!(next.keys.iter().all(|k| !page.keys.contains(k)));
    let foreign = igniter_store::adapter::ScanCursor::from_string("17");
    let err = s.dev().scan("*").cursor(foreign).await.unwrap_err();
    assert_eq!(err.code(), igniter_store::ErrorCode::ScanFailed);
}

/// On the memory adapter a kv set runs on its first poll, without a boxed
/// future: a set future dropped before it is polled (a losing `select!`
/// branch) writes nothing, one polled once has written, and the future is
/// `Send` for any value type, `Sync` or not.
#[tokio::test]
async fn a_memory_set_runs_when_polled_not_before() {
    use std::cell::Cell;
    use std::future::IntoFuture;

    fn send<T: Send>(t: T) -> T {
        t
    }
    let (_, s) = paused_store();
    let unpolled = send(s.kv().set("k", &1).into_future());
    drop(unpolled);
    assert_eq!(s.kv().get::<i32>("k").await.unwrap(), None);

    let value = Cell::new(7); // not `Sync`
    let ttl = Duration::from_secs(60);
    let mut polled = std::pin::pin!(send(s.kv().set("k", &value).ttl(ttl).into_future()));
    assert!(futures::poll!(polled.as_mut()).is_ready());
    assert_eq!(s.kv().get::<i32>("k").await.unwrap(), Some(7));
    assert!(matches!(s.kv().ttl("k").await.unwrap(), KeyTtl::Expires(_)));

    let err = s.kv().set("", &1).await.unwrap_err();
    assert_eq!(err.code().as_str(), "STORE_KEY_REQUIRED");
    let err = s.kv().set("k", &1).ttl(Duration::ZERO).await.unwrap_err();
    assert_eq!(err.code().as_str(), "STORE_TTL_INVALID");
}
