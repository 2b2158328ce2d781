//! # igniter-store
//!
//! A multi-tenant store for tokio services: key-value entries with TTLs,
//! atomic counters, claims (locks with fencing tokens), batches, key scans,
//! typed pub/sub and streams with consumer groups — every operation isolated
//! by a hierarchy of tenant scopes, and every channel, payload type and scope
//! checked by the compiler. It runs on an embedded in-memory adapter (no
//! server) and on Redis or Redis Cluster, and its keys, channels and
//! envelopes are byte-compatible with the TypeScript package
//! `@igniter-js/store`, so services in both languages can share one Redis.
//!
//! # A tour
//!
//! Scopes are an enum whose declared order is the tenant hierarchy; the
//! store is built once and cloned freely (it is an `Arc` inside). A handle
//! one scope deeper is cheap, and every key it touches is under its chain of
//! scopes. The derive writes a typed path (`tenant::Organization`,
//! `tenant::Workspace`: a module named after the enum) that the compiler
//! checks: scopes in declaration order, each once, no required scope
//! skipped, and no data operation on a handle that lacks a required scope.
//!
//! ```
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use igniter_store::{batch::BatchEntry, MemoryAdapter, Store, StoreScopes};
//!
//! #[derive(StoreScopes, Clone, Copy, Debug)]
//! enum Tenant {
//!     #[scope(required)]      // no data operation without it: a compile error
//!     Organization,           // key segment "organization"
//!     #[scope(key = "ws")]
//!     Workspace,              // key segment "ws"
//! }
//!
//! # async fn run() -> Result<(), igniter_store::StoreError> {
//! let store = Store::builder()
//!     .adapter(MemoryAdapter::new())     // or RedisAdapter::connect(url).await?
//!     .service("my-api")
//!     .scopes::<Tenant>()
//!     .build()?;
//! let org = store.scope(tenant::Organization, "org_123")?;   // Store<tenant::Organization>
//! let ws = org.scope(tenant::Workspace, 7)?;                 // Store<tenant::Workspace>
//!
//! // kv: get, set (+ ttl), exists, remove, expire, touch, ttl, persist
//! ws.kv().set("theme", &"dark").ttl(Duration::from_secs(60)).await?;
//! assert_eq!(ws.kv().get::<String>("theme").await?.as_deref(), Some("dark"));
//! assert_eq!(ws.kv().key("theme")?, "igniter:store:my-api:organization:org_123:ws:7:kv:theme");
//!
//! // counters: increment(_by), decrement(_by), get (0 when missing), expire, remove;
//! // a fixed-window rate limiter: only the increment that creates the counter sets its TTL
//! let used = ws.counter().increment("rate:api").ttl_on_create(Duration::from_secs(60)).await?;
//! assert_eq!(used, 1);
//!
//! // claims: `once` (SET NX PX) and release by the same owner...
//! assert!(ws.claim().once("invoice:42", &"worker-1", Duration::from_secs(30)).await?);
//! assert!(!ws.claim().once("invoice:42", &"worker-2", Duration::from_secs(30)).await?);
//! // ...or `acquire`: a `Claim` with a fencing token that grows with every acquire of the key
//! if let Some(claim) = ws.claim().acquire("report", Duration::from_secs(30)).await? {
//!     assert!(claim.token() > 0);       // hand it to the resource, which refuses older tokens
//!     assert!(claim.release().await?);  // only the holder can release or extend
//! }
//!
//! // batches: one round trip, each entry with its own TTL, never half-applied
//! ws.batch().set([BatchEntry::new("a", &1), BatchEntry::new("b", &2).ttl(Duration::from_secs(5))]).await?;
//! let values: Vec<Option<i32>> = ws.batch().get(&["a", "b", "c"]).await?;
//! assert_eq!(values, [Some(1), Some(2), None]);
//!
//! // scans: keys relative to the scope; only your pattern is a pattern
//! let mut keys: Vec<String> = ws.dev().scan_all("*").try_collect().await?;
//! keys.sort();
//! assert_eq!(keys, ["a", "b", "theme"]);
//!
//! // offboarding: every key of the organization and of the scopes under it
//! org.purge().await?;
//! assert_eq!(ws.kv().get::<String>("theme").await?, None);
//!
//! // scopes known only at run time: scope values, checked before any I/O
//! let err = store.scope(Tenant::Workspace, 7).unwrap_err();   // skips the organization
//! assert_eq!(err.code().as_str(), "STORE_SCOPE_REQUIRED");
//! let err = ws.scope(Tenant::Organization, "org_9").unwrap_err();  // out of order
//! assert_eq!(err.code().as_str(), "STORE_SCOPE_ORDER");
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! # Typed events
//!
//! Channels are declared once, in Rust, with [`events!`] or
//! [`derive(StoreEvents)`](derive@StoreEvents): each is a
//! [`Channel<T>`] constant binding a name to its payload type. Publishing
//! and subscribing take the constant, so a misspelled channel, a payload of
//! the wrong type or an unknown namespace does not build. Subscriptions are
//! `futures::Stream`s, active when `subscribe` returns; dropping one
//! unsubscribes.
//!
//! ```
//! use futures::StreamExt;
//! use igniter_store::{events, MemoryAdapter, Store, StoreActors, StoreEvents, StoreScopes};
//! use serde::{Deserialize, Serialize};
//!
//! # #[derive(StoreScopes, Clone, Copy, Debug)]
//! # enum Tenant { #[scope(required)] Organization }
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! pub struct UserCreated { id: u64 }
//! #[derive(Debug, Serialize, Deserialize)]
//! pub struct Charge { cents: u64 }
//!
//! events! {
//!     /// Events about users.
//!     pub user {
//!         /// A user signed up: `user::CREATED`, channel "user:created".
//!         created(UserCreated),
//!     }
//! }
//!
//! #[derive(StoreEvents)]
//! #[store(namespace = "billing")]
//! enum Billing {
//!     Charged(Charge),          // Billing::CHARGED, "billing:charged"
//! }
//!
//! #[derive(StoreActors, Clone, Copy, Debug)]
//! enum Actor { User }
//!
//! # async fn run() -> Result<(), igniter_store::StoreError> {
//! let store = Store::builder().adapter(MemoryAdapter::new()).service("api")
//!     .scopes::<Tenant>().actors::<Actor>()
//!     .events(user::REGISTRY).events(Billing::REGISTRY)  // optional: refuses a namespace declared twice
//!     .build()?;
//! let org = store.scope(tenant::Organization, "org_1")?;
//!
//! let mut created = org.events().subscribe(&user::CREATED).await?;
//! let mut billing = org.events().subscribe_all::<Billing>().await?;  // every billing:* channel
//! org.actor(Actor::User, "u_1")?.events().publish(&user::CREATED, &UserCreated { id: 1 }).await?;
//! org.events().publish(&Billing::CHARGED, &Charge { cents: 990 }).await?;
//!
//! let ev = created.next().await.unwrap()?;   // Arc<EventContext<UserCreated>>
//! assert_eq!(ev.data, UserCreated { id: 1 });
//! assert_eq!(ev.event_type, "user:created");
//! assert_eq!(ev.actor.as_ref().map(|a| a.key.as_str()), Some("user"));
//! match &billing.next().await.unwrap()?.data {
//!     Billing::Charged(charge) => assert_eq!(charge.cents, 990),
//! }
//! # Ok(()) }
//! # fn main() {
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
//! # }
//! ```
//!
//! What does not compile:
//!
//! ```compile_fail,E0425
//! # use igniter_store::{events, MemoryAdapter, Store};
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct UserCreated { id: u64 }
//! # events! { pub user { created(UserCreated), } }
//! # async fn run(store: Store) -> igniter_store::StoreResult<()> {
//! store.events().publish(&user::CRATED, &UserCreated { id: 1 }).await?;  // no such channel
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! ```compile_fail,E0308
//! # use igniter_store::{events, MemoryAdapter, Store};
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct UserCreated { id: u64 }
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct Charge { cents: u64 }
//! # events! { pub user { created(UserCreated), } }
//! # async fn run(store: Store) -> igniter_store::StoreResult<()> {
//! store.events().publish(&user::CREATED, &Charge { cents: 1 }).await?;  // wrong payload type
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! ```compile_fail
//! # use igniter_store::{events};
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct UserCreated { id: u64 }
//! events! {
//!     pub user {
//!         created(UserCreated),
//!         created(UserCreated),   // error: a duplicate event, pointing at this line
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! The same holds for scopes: on the typed path a scope out of declaration
//! order, repeated, skipping a required one or of another enum does not
//! compile, and neither does a data operation on a handle that lacks a
//! required scope (the message names it); `#[derive(StoreScopes)]` refuses
//! duplicate or reserved keys and namespace words (`kv`, `counter`, ...) on
//! the offending token, and `build()` does not exist before `.adapter(..)`
//! and `.service(..)`:
//!
//! ```compile_fail,E0277
//! # use igniter_store::{MemoryAdapter, Store, StoreScopes};
//! # #[derive(StoreScopes, Clone, Copy, Debug)]
//! # enum Tenant { #[scope(required)] Organization, Workspace }
//! # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build().unwrap();
//! let ws = store.scope(tenant::Workspace, 7);  // error: `Workspace` cannot come after `Tenant`
//! ```
//!
//! ```compile_fail,E0277
//! # use igniter_store::{MemoryAdapter, Store};
//! let store = Store::builder().adapter(MemoryAdapter::new()).build();  // error: the store has no service: call `.service("name")` before `.build()`
//! ```
//!
//! The envelope is the TypeScript package's:
//! `{"type":"user:created","data":{..},"timestamp":"2026-11-26T05:39:29.123Z","scope":{"key":"organization","identifier":"org_1"}}`,
//! plus `"scopes"` (the whole chain, when deeper than one) and `"actor"`.
//! A message that does not decode is one `Err` item
//! (`STORE_DESERIALIZATION_FAILED`) and the stream goes on; a subscriber
//! that falls behind gets one `Err` with `STORE_SUBSCRIBER_LAGGED`, never a
//! silent gap. With the `garde` feature, `Events::publish_validated` and
//! `Subscription::validated` check payloads beyond their type.
//!
//! # Streams
//!
//! Work queues and event logs that survive a crash: Redis Streams with
//! consumer groups, scoped like keys and typed by a [`Channel<T>`] (or a
//! plain name with a type: `read::<Resize>("jobs:resize")`). Operations that
//! never touch a payload (`ensure`, `ack`, `pending`, `len`, ...) take any
//! name, with no type. An entry's payload is its `data`, like an event's.
//! Delivery is at least once: an entry stays pending until acknowledged, and
//! [`Group::reclaim`](streams::Group::reclaim) or a [`Worker`](streams::Worker)
//! hands the entries of a dead consumer to another. A
//! [`Group`](streams::Group) owns what it needs: clone it into a task.
//!
//! ```
//! # use igniter_store::{events, MemoryAdapter, Store};
//! # #[derive(Debug, serde::Serialize, serde::Deserialize)] pub struct Resize { width: u32 }
//! events! { pub jobs { resize(Resize), } }
//! # async fn run() -> Result<(), igniter_store::StoreError> {
//! # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
//! let streams = store.streams();
//! streams.append(&jobs::RESIZE, &Resize { width: 128 }).max_len(100_000).approximate().await?;
//!
//! let group = streams.group("resizers", "worker-1");
//! group.ensure(&jobs::RESIZE).await?;                     // idempotent; from the start of the stream
//! for entry in group.read(&jobs::RESIZE).count(10).await? {
//!     if let Ok(job) = &entry.data {                      // an entry that does not decode is an Err
//!         assert_eq!(job.width, 128);
//!         group.ack(&jobs::RESIZE, &[&entry.id]).await?;
//!     }
//! }
//! assert_eq!(group.pending("jobs:resize").await?.count, 0); // the same stream, by its name
//! # Ok(()) }
//! # fn main() {
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
//! # }
//! ```
//!
//! # Scopes and isolation
//!
//! ```text
//! igniter:store:<service>[:<scopeKey>:<id>]*:<namespace>:<key>      namespace: kv counter claim streams
//! igniter:store:<service>[:<scopeKey>:<id>]*:events:<event name>     channels
//! ```
//!
//! - The declared order of the scope enum is the hierarchy: a chain lists
//!   scopes in that order, each at most once, skipping optional ones only.
//!   The typed path (`tenant::Workspace`) is checked by the compiler; scope
//!   values (`Tenant::Workspace`), for chains known only at run time, are
//!   checked when added (`STORE_SCOPE_ORDER`, `STORE_SCOPE_REQUIRED`), so
//!   every key of a tenant is under its prefix and its `purge()` reaches it.
//!   Identifiers are anything `Display`, percent-escaped (`%`, `:`, `{`,
//!   `}`), so no identifier can add segments and reach another tenant's keys.
//! - Scope keys are never namespace words, so a key reads unambiguously.
//! - In scan and pattern-subscription patterns, every glob character of the
//!   fixed part is escaped: a tenant named `*` scans only its own keys.
//! - A handle that lacks a required scope has no data operations (typed
//!   path) or fails them before any I/O (`STORE_SCOPE_REQUIRED`, dynamic);
//!   `purge()` on a handle deletes its scope and everything under it.
//!
//! # Adapters and features
//!
//! | adapter | what it is | feature |
//! |---|---|---|
//! | [`MemoryAdapter`] | in process, Redis's semantics (expiry on tokio's clock, so `tokio::time::pause` drives it in tests) | always |
//! | `RedisAdapter` | one Redis server, through the `redis` crate | `redis` (default) |
//! | `RedisClusterAdapter` | Redis Cluster: slot-split batches, scans on every primary, failover | `cluster` (default) |
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `redis` | yes | `RedisAdapter`, `RedisAdapterBuilder` |
//! | `cluster` | yes | `RedisClusterAdapter`, `RedisClusterAdapterBuilder` |
//! | `tls` | no | `rediss://` URLs on rustls, custom root certificates |
//! | `garde` | no | `Events::publish_validated`, `Subscription::validated` |
//! | `metrics` | no | metrics through the `metrics` facade: `telemetry::metrics` |
//!
//! `default-features = false` gives a memory-only build without the `redis`
//! crate.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), igniter_store::StoreError> {
//! use igniter_store::{RedisAdapter, Store};
//! let adapter = RedisAdapter::connect("redis://127.0.0.1:6379/").await?;
//! let store = Store::builder().adapter(adapter).service("my-api").build()?;
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every failure is a [`StoreError`] with a stable [`ErrorCode`] (its
//! `as_str()` is the TypeScript package's string, e.g. `STORE_TTL_INVALID`),
//! a message that never holds a key, a value or an identifier, `details()`
//! and the cause as `source()`. Every operation has a deadline (5 s by
//! default, [`StoreBuilder::timeout`]); past it, `STORE_TIMEOUT`.
//!
//! # Telemetry
//!
//! Every operation emits `tracing` events, target `igniter_store`:
//! `igniter.store.<area>.<op>.started` and `.success` at DEBUG, `.error` at
//! ERROR with `error.code`, `error.message` and `error.operation`. Their
//! fields are `store.service`, `store.namespace`, `store.scope_key` (never
//! the identifier), `store.scope_depth` and the operation's counts — never a
//! key, a value, a payload or an identifier. The full table is in
//! [`telemetry`]. To see them:
//!
//! ```no_run
//! // with `tracing-subscriber` in your dependencies
//! use tracing_subscriber::{filter::Targets, fmt, prelude::*};
//!
//! tracing_subscriber::registry()
//!     .with(fmt::layer())
//!     .with(Targets::new().with_target("igniter_store", tracing::Level::DEBUG))
//!     .init();
//! ```
//!
//! The `telemetry` example of the repository prints them as JSON lines.
//!
//! # Cancel safety
//!
//! Every operation is a future; dropping it (or letting the store's
//! deadline end it) is always safe for the store, but the backend may
//! already have acted:
//!
//! - a dropped **read** changes nothing;
//! - a dropped **write** (set, increment, claim, publish, append, ...) may
//!   or may not have been applied, as with any request over a network: a
//!   `STORE_TIMEOUT` on a write means "unknown", so retry only what is
//!   idempotent (a `set`), and re-read a counter rather than increment twice;
//! - a dropped `acquire` may have taken the claim without returning the
//!   [`Claim`](claim::Claim): it then expires with its TTL. Dropping a [`Claim`](claim::Claim) does not
//!   release it either: release it, or it expires;
//! - dropping a [`Subscription`](events::Subscription) unsubscribes (the backend subscription goes
//!   with the last local subscriber);
//! - a dropped stream **read** may leave its entries pending under its
//!   consumer: they are reclaimed like a dead consumer's, never lost.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod actor;
pub mod adapter;
pub mod batch;
pub mod builder;
mod channel;
pub mod claim;
pub mod counter;
pub mod dev;
mod engine;
pub mod error;
pub mod events;
mod finite;
mod glob;
pub mod key;
pub mod kv;
pub mod scope;
pub mod serializer;
mod store;
pub mod streams;
pub mod telemetry;

pub use actor::StoreActors;
pub use adapter::StoreAdapter;
#[cfg(feature = "cluster")]
pub use adapter::cluster::RedisClusterAdapter;
pub use adapter::memory::MemoryAdapter;
#[cfg(feature = "redis")]
pub use adapter::redis::RedisAdapter;
pub use builder::StoreBuilder;
pub use channel::Channel;
pub use error::{ErrorCode, StoreError, StoreResult};
pub use events::StoreEvents;
pub use igniter_store_macros::{StoreActors, StoreEvents, StoreScopes, events};
pub use scope::StoreScopes;
pub use serializer::{JsonSerializer, Serializer};
pub use store::Store;

/// Items used by the code the derive macros generate. Not public API: it may
/// change in any release, which is why the macro crate is pinned to this
/// crate's exact version.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::{ActorDef, StoreActors};
    pub use crate::events::{Channel, ChannelDef, EventRegistry, StoreEvents};
    pub use crate::scope::{AllRequired, Dynamic, NextScope, ScopeDef, ScopePosition, StoreScopes};
    pub use serde_json;
    pub use serde_json::value::RawValue;
}
