//! The store's telemetry wired to `tracing-subscriber`'s JSON formatter: a
//! few operations of every namespace, each printing its
//! `igniter.store.<area>.<op>.started` and `.success` (DEBUG) or `.error`
//! (ERROR) event as one JSON line on stdout. What the program does is said
//! on stderr, so stdout is JSON lines only:
//!
//! ```text
//! cargo run -p igniter-store-examples --bin telemetry
//! cargo run -p igniter-store-examples --bin telemetry 2>/dev/null | jq -c '{name, level, "store.scope_key"}'
//! IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin telemetry
//! ```
//!
//! The filter is `igniter_store=debug` (`RUST_LOG` replaces it). Every
//! identifier, key, value, claim owner and payload below contains
//! `lovelace`; no event holds any of them, so `lovelace` never appears on
//! stdout. Names declared in code do appear: the service, scope keys,
//! channels, and streams' names, groups and consumers.
//!
//! `tracing-subscriber`'s JSON formatter does not print an event's name
//! (`igniter.store.kv.get.success`), only its fields, target and level; the
//! small [`WithEventName`] wrapper below adds it as the first field.

use igniter_store::adapter::Backend;
use std::fmt;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use igniter_store::{
    MemoryAdapter, RedisAdapter, Store, StoreActors, StoreAdapter, StoreError, StoreScopes,
    batch::BatchEntry, events,
};
use serde::{Deserialize, Serialize};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
}

#[derive(StoreActors, Clone, Copy, Debug)]
enum Actor {
    User,
}

/// The payload of `images::UPLOADED` (events) and `images::RESIZE` (a stream).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    name: String,
}

events! {
    /// Images.
    pub images {
        /// An image was uploaded.
        uploaded(Image),
        /// An image to resize (a job queue).
        resize(Image),
    }
}

/// Adds the event's name (`"name": "igniter.store.kv.get.success"`) as the
/// first field of each line of a JSON event formatter.
struct WithEventName<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithEventName<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => {
                let name =
                    serde_json::to_string(event.metadata().name()).map_err(|_| fmt::Error)?;
                write!(writer, "{{\"name\":{name},{rest}")
            }
            None => writer.write_str(&line),
        }
    }
}

/// What the program is doing, on stderr.
fn say(what: &str) {
    eprintln!("# {what}");
}

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("igniter_store=debug"));
    let json = tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false);
    tracing_subscriber::fmt()
        .json()
        .event_format(WithEventName(json))
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .init();

    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => {
            say(&format!("adapter: Redis at {url}"));
            RedisAdapter::connect(&url).await?.into_backend()
        }
        Err(_) => {
            say("adapter: in memory (set IGNITER_STORE_REDIS_URL to use Redis)");
            MemoryAdapter::new().into_backend()
        }
    };
    let store = Store::builder()
        .shared_adapter(adapter)
        .service("telemetry-example")
        .scopes::<Tenant>()
        .actors::<Actor>()
        .events(images::REGISTRY)
        .build()?;
    let org = store.scope(tenant::Organization, "lovelace-labs")?;
    let ws = org.scope(tenant::Workspace, "lovelace-ws")?;
    let ttl = Duration::from_secs(60);

    say("kv: set with a TTL, get, exists, ttl, persist, expire, remove");
    ws.kv()
        .set("profile:lovelace", &"lovelace@example.com")
        .ttl(ttl)
        .await?;
    let _: Option<String> = ws.kv().get("profile:lovelace").await?;
    ws.kv().exists("profile:lovelace").await?;
    ws.kv().ttl("profile:lovelace").await?;
    ws.kv().persist("profile:lovelace").await?;
    ws.kv().expire("profile:lovelace", ttl).await?;
    ws.kv().remove("profile:lovelace").await?;

    say("counter: a rate limiter's increment, increment_by, decrement, get, remove");
    ws.counter()
        .increment("rate:lovelace")
        .ttl_on_create(ttl)
        .await?;
    ws.counter().increment_by("seats:lovelace", 5).await?;
    ws.counter().decrement("seats:lovelace").await?;
    ws.counter().get("seats:lovelace").await?;
    ws.counter().remove("seats:lovelace").await?;

    say("claim: once and release; acquire, extend and release");
    ws.claim()
        .once("invoice:lovelace", &"worker-lovelace", ttl)
        .await?;
    ws.claim()
        .release("invoice:lovelace", &"worker-lovelace")
        .await?;
    if let Some(claim) = ws.claim().acquire("report:lovelace", ttl).await? {
        claim.extend(ttl).await?;
        claim.release().await?;
    }

    say("batch: set and get");
    ws.batch()
        .set([
            BatchEntry::new("member:lovelace", &"lovelace"),
            BatchEntry::new("member:lovelace-2", &"lovelace").ttl(ttl),
        ])
        .await?;
    let _: Vec<Option<String>> = ws
        .batch()
        .get(&["member:lovelace", "member:lovelace-2"])
        .await?;

    say("dev: scan");
    let _: Vec<String> = ws.dev().scan_all("member:*").try_collect().await?;

    say("events: subscribe, publish as an actor, receive, unsubscribe (drop)");
    let mut uploaded = ws.events().subscribe(&images::UPLOADED).await?;
    let image = Image {
        name: "lovelace.png".into(),
    };
    ws.actor(Actor::User, "lovelace")?
        .events()
        .publish(&images::UPLOADED, &image)
        .await?;
    uploaded.next().await.transpose()?;
    drop(uploaded);

    say("streams: append, len, range, group ensure, read, ack, pending");
    let streams = ws.streams();
    streams.append(&images::RESIZE, &image).await?;
    streams.len(&images::RESIZE).await?;
    streams.range(&images::RESIZE).await?;
    let group = streams.group("resizers", "worker-1");
    group.ensure(&images::RESIZE).await?;
    for entry in group.read(&images::RESIZE).count(10).await? {
        group.ack(&images::RESIZE, &[&entry.id]).await?;
    }
    group.pending(&images::RESIZE).await?;

    say("errors: a missing required scope, a zero TTL");
    // The typed root has no `kv()` (a compile error); a chain built from
    // scope values at run time is checked by each operation instead.
    let _ = store
        .clone()
        .into_dynamic()
        .kv()
        .get::<String>("profile:lovelace")
        .await;
    let _ = ws
        .kv()
        .set("profile:lovelace", &"lovelace")
        .ttl(Duration::ZERO)
        .await;

    say("purge: every key of the organization");
    org.purge().await?;
    Ok(())
}
