//! # igniter-store
//!
//! A multi-tenant store for tokio services: key-value entries with TTLs,
//! atomic counters, claims (locks with fencing tokens), batches and key
//! scanning, every operation isolated by a hierarchy of tenant scopes, on an
//! embedded in-memory adapter or on Redis.
//!
//! ```
//! use std::time::Duration;
//! use igniter_store::{MemoryAdapter, Store, StoreScopes};
//!
//! #[derive(StoreScopes, Clone, Copy, Debug)]
//! enum Tenant {
//!     #[scope(required)]
//!     Organization,
//!     #[scope(key = "ws")]
//!     Workspace,
//! }
//!
//! # async fn run() -> Result<(), igniter_store::StoreError> {
//! let store = Store::builder()
//!     .adapter(MemoryAdapter::new())
//!     .service("my-api")
//!     .scopes::<Tenant>()
//!     .build()?;
//!
//! let ws = store.scope(Tenant::Organization, "org_123")?.scope(Tenant::Workspace, 7)?;
//! ws.kv().set("config", &"dark").ttl(Duration::from_secs(60)).await?;
//! assert_eq!(ws.kv().key("config")?, "igniter:store:my-api:organization:org_123:ws:7:kv:config");
//! assert_eq!(ws.counter().increment("logins").await?, 1);
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
//! ```
#![deny(missing_docs)]

mod actor;
pub mod adapter;
mod batch;
mod builder;
mod claim;
mod counter;
mod dev;
mod error;
mod events;
pub mod key;
mod kv;
mod scope;
mod serializer;
mod store;
mod streams;
pub mod telemetry;

pub use actor::{ActorDef, NoActors, StoreActors};
#[cfg(feature = "cluster")]
pub use adapter::cluster::{RedisClusterAdapter, RedisClusterAdapterBuilder};
pub use adapter::memory::MemoryAdapter;
#[cfg(feature = "redis")]
pub use adapter::redis::{RedisAdapter, RedisAdapterBuilder};
pub use adapter::{KeyTtl, ScanCursor, StoreAdapter};
pub use batch::{Batch, BatchEntry};
pub use builder::{DEFAULT_PREFIX, DEFAULT_TIMEOUT, Missing, StoreBuilder};
pub use claim::{Claim, Claims};
pub use counter::{Counter, Increment};
pub use dev::{DEFAULT_SCAN_COUNT, Dev, Scan, ScanPage};
pub use error::{BoxError, ErrorCode, StoreError, StoreResult};
pub use events::{
    Channel, ChannelDef, EventActor, EventContext, EventRegistry, EventScope, Events, StoreEvents,
    Subscription,
};
pub use igniter_store_macros::{StoreActors, StoreEvents, StoreScopes, events};
pub use key::Namespace;
pub use kv::{Kv, KvSet, StoreFuture};
pub use scope::{NoScopes, ScopeDef, StoreScopes};
pub use serializer::{JsonSerializer, Serializer};
pub use store::Store;
pub use streams::{
    Append, Delivery, Ensure, Group, PendingEntry, PendingQuery, PendingSummary, Range, Read,
    Reclaim, StreamEntry, StreamName, Streams, Worker, WorkerBuilder,
};

/// Items used by the code the derive macros generate. Not public API: it may
/// change in any release, which is why the macro crate is pinned to this
/// crate's exact version.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::{ActorDef, StoreActors};
    pub use crate::events::{Channel, ChannelDef, EventRegistry, StoreEvents};
    pub use crate::scope::{ScopeDef, StoreScopes};
    pub use serde_json;
    pub use serde_json::value::RawValue;
}
