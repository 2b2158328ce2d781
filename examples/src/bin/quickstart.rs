//! The quickstart: a store with tenant scopes on the in-memory adapter, using
//! every namespace once. No server needed:
//!
//! ```text
//! cargo run -p igniter-store-examples --bin quickstart
//! ```
//!
//! The same program on Redis:
//!
//! ```text
//! IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin quickstart
//! ```

use igniter_store::adapter::Backend;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use igniter_store::{
    MemoryAdapter, RedisAdapter, Store, StoreActors, StoreAdapter, StoreError, StoreScopes,
    batch::BatchEntry, events,
};
use serde::{Deserialize, Serialize};

/// Every key of the service lives under an organization, optionally under
/// one of its workspaces.
#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
}

/// Who acts; carried in the envelopes of published events.
#[derive(StoreActors, Clone, Copy, Debug)]
enum Actor {
    User,
}

/// The payload of `members::JOINED`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemberJoined {
    member: String,
}

events! {
    /// Events about workspace members.
    pub members {
        /// Someone joined a workspace.
        joined(MemberJoined),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Settings {
    theme: String,
    seats: u32,
}

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => {
            println!("adapter   Redis at {url}");
            RedisAdapter::connect(&url).await?.into_backend()
        }
        Err(_) => {
            println!("adapter   in memory (set IGNITER_STORE_REDIS_URL to use Redis)");
            MemoryAdapter::new().into_backend()
        }
    };
    let store = Store::builder()
        .shared_adapter(adapter)
        .service("quickstart")
        .scopes::<Tenant>()
        .actors::<Actor>()
        .events(members::REGISTRY)
        .build()?;

    let acme = store.scope(tenant::Organization, "acme")?;
    let ws = acme.scope(tenant::Workspace, 7)?;
    let globex = store.scope(tenant::Organization, "globex")?;

    // kv, with a TTL
    let settings = Settings {
        theme: "dark".into(),
        seats: 12,
    };
    ws.kv()
        .set("settings", &settings)
        .ttl(Duration::from_secs(3600))
        .await?;
    let read: Option<Settings> = ws.kv().get("settings").await?;
    println!("kv        {} -> {read:?}", ws.kv().key("settings")?);
    println!("kv        ttl {:?}", ws.kv().ttl("settings").await?);

    // counters, and a fixed-window rate limiter
    let logins = acme.counter().increment_by("logins", 3).await?;
    println!("counter   logins = {logins}");
    for _ in 0..3 {
        let used = acme
            .counter()
            .increment("rate:api")
            .ttl_on_create(Duration::from_secs(60))
            .await?;
        println!("counter   rate:api used {used} of 100 this minute");
    }

    // claims: once, and acquire with a fencing token
    let first = acme
        .claim()
        .once("invoice:42", &"worker-1", Duration::from_secs(30))
        .await?;
    let second = acme
        .claim()
        .once("invoice:42", &"worker-2", Duration::from_secs(30))
        .await?;
    println!("claim     once: worker-1 {first}, worker-2 {second}");
    if let Some(claim) = acme
        .claim()
        .acquire("nightly-report", Duration::from_secs(30))
        .await?
    {
        println!(
            "claim     acquired nightly-report with fencing token {}",
            claim.token()
        );
        println!("claim     released: {}", claim.release().await?);
    }

    // batches
    ws.batch()
        .set([
            BatchEntry::new("member:1", &"ada"),
            BatchEntry::new("member:2", &"grace").ttl(Duration::from_secs(600)),
        ])
        .await?;
    let members: Vec<Option<String>> = ws
        .batch()
        .get(&["member:1", "member:2", "member:3"])
        .await?;
    println!("batch     {members:?}");

    // scans see only this scope's keys, relative to it
    let mut keys: Vec<String> = ws.dev().scan_all("member:*").try_collect().await?;
    keys.sort();
    println!("dev       scan member:* -> {keys:?}");

    // typed events: subscribe, publish as an actor, receive the typed payload
    let mut joined = ws.events().subscribe(&members::JOINED).await?;
    let receivers = ws
        .actor(Actor::User, "u_1")?
        .events()
        .publish(
            &members::JOINED,
            &MemberJoined {
                member: "ada".into(),
            },
        )
        .await?;
    if let Some(event) = joined.next().await {
        let event = event?;
        println!(
            "events    {} -> {:?} at {} by {:?} ({receivers} receiver)",
            event.event_type,
            event.data,
            event.timestamp,
            event.actor.as_ref().map(|a| &a.key),
        );
    }

    // isolation: another tenant sees none of it
    globex
        .kv()
        .set(
            "settings",
            &Settings {
                theme: "light".into(),
                seats: 2,
            },
        )
        .await?;
    let other: Option<Settings> = globex
        .scope(tenant::Workspace, 7)?
        .kv()
        .get("settings")
        .await?;
    println!("isolation globex/ws:7 settings -> {other:?}");

    // Scopes are a hierarchy, in the enum's declaration order. On the typed
    // path the compiler checks it: `store.kv()` does not compile (the root
    // lacks the required organization), nor does
    // `ws.scope(tenant::Organization, ..)` (out of order). Scope values, for
    // chains known only at run time, are checked before any I/O:
    let err = store.scope(Tenant::Workspace, 7).unwrap_err();
    println!("scopes    workspace without organization: {}", err.code());
    let err = acme
        .scope(Tenant::Workspace, 7)?
        .scope(Tenant::Organization, "globex")
        .unwrap_err();
    println!("scopes    organization after workspace: {}", err.code());

    // offboarding: purge a tenant and everything under it
    let removed = acme.purge().await?;
    println!(
        "purge     acme: {removed} keys removed; globex still has settings: {}",
        globex.kv().exists("settings").await?
    );

    // leave nothing behind when run against a shared Redis
    globex.purge().await?;
    Ok(())
}
