//! Two organizations on one store: each writes kv entries, counters, claims
//! and a stream, and subscribes to its events; neither can read, scan or
//! receive anything of the other. Then one is offboarded with `purge()`, and
//! the other is shown intact. Every claim it prints is also asserted: the
//! program fails if isolation does not hold.
//!
//! ```text
//! cargo run -p igniter-store-examples --bin multi_tenant
//! IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin multi_tenant
//! ```

use igniter_store::adapter::Backend;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use igniter_store::{
    MemoryAdapter, RedisAdapter, Store, StoreAdapter, StoreError, StoreResult, StoreScopes, events,
    events::EventContext, events::Subscription,
};
use serde::{Deserialize, Serialize};

/// Organizations are required; projects live under them.
#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    Project,
}

/// The payload of `activity::SIGNED_IN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    member: String,
}

/// The payload of `activity::INVOICE_PAID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoicePaid {
    invoice: String,
    cents: u64,
}

events! {
    /// What happens in an organization.
    pub activity {
        /// A member signed in.
        signed_in(SignedIn),
        /// An invoice was paid.
        invoice_paid(InvoicePaid),
    }
}

/// One entry of an organization's audit log (a stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AuditEntry {
    action: String,
}

type Org = Store<tenant::Organization>;

/// How long a subscriber waits to show that nothing else arrives.
const QUIET: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => {
            println!("adapter    Redis at {url}");
            RedisAdapter::connect(&url).await?.into_backend()
        }
        Err(_) => {
            println!("adapter    in memory (set IGNITER_STORE_REDIS_URL to use Redis)");
            MemoryAdapter::new().into_backend()
        }
    };
    let store = Store::builder()
        .shared_adapter(adapter)
        .service("multi-tenant-example")
        .scopes::<Tenant>()
        .events(activity::REGISTRY)
        .build()?;

    let acme = store.scope(tenant::Organization, "acme")?;
    let globex = store.scope(tenant::Organization, "globex")?;
    // Leftovers of an interrupted run on a shared Redis.
    acme.purge().await?;
    globex.purge().await?;

    // Both subscribe to every `activity:*` event of their own scope.
    let mut acme_events = acme.events().subscribe_all::<activity::Event>().await?;
    let mut globex_events = globex.events().subscribe_all::<activity::Event>().await?;

    // The same key names in both organizations, different data.
    println!("\n== each organization writes its data, under the same key names");
    write(
        &acme,
        "enterprise",
        40,
        &["signed up", "enabled SSO", "invited 39 members"],
    )
    .await?;
    acme.kv()
        .set("sso-config", &"saml://idp.acme.example")
        .await?;
    write(&globex, "starter", 3, &["signed up"]).await?;
    println!("kv         acme plan -> {}", acme.kv().key("plan")?);
    println!("kv         globex plan -> {}", globex.kv().key("plan")?);

    println!("\n== reads: each sees only its own data");
    let acme_plan: Option<String> = acme.kv().get("plan").await?;
    let globex_plan: Option<String> = globex.kv().get("plan").await?;
    println!("kv         plan: acme {acme_plan:?}, globex {globex_plan:?}");
    assert_eq!(acme_plan.as_deref(), Some("enterprise"));
    assert_eq!(globex_plan.as_deref(), Some("starter"));
    let leaked: Option<String> = globex.kv().get("sso-config").await?;
    println!("kv         globex reads acme's sso-config -> {leaked:?}");
    assert_eq!(leaked, None);
    let seats = (
        acme.counter().get("seats").await?,
        globex.counter().get("seats").await?,
    );
    println!("counter    seats: acme {}, globex {}", seats.0, seats.1);
    assert_eq!(seats, (40, 3));
    // A claim of one organization does not block the same claim in another,
    // and each organization's claim has its own fencing token.
    let acme_export = acme.claim().acquire("nightly-export", ttl()).await?;
    let globex_export = globex.claim().acquire("nightly-export", ttl()).await?;
    let tokens = (
        acme_export.as_ref().map(|c| c.token()),
        globex_export.as_ref().map(|c| c.token()),
    );
    println!(
        "claim      nightly-export: acme token {:?}, globex token {:?} (both held at once)",
        tokens.0, tokens.1
    );
    assert!(tokens.0.is_some() && tokens.1.is_some());
    let audit = (audit_len(&acme).await?, audit_len(&globex).await?);
    println!(
        "streams    audit-log entries: acme {}, globex {}",
        audit.0, audit.1
    );
    assert_eq!(audit, (3, 1));
    let globex_log: Vec<String> = globex
        .streams()
        .range::<AuditEntry>("audit-log")
        .await?
        .into_iter()
        .filter_map(|entry| entry.data.ok().map(|e| e.action))
        .collect();
    println!("streams    globex's audit-log -> {globex_log:?}");
    assert_eq!(globex_log, ["signed up"]);

    println!("\n== scans: only the scope's own keys, relative to it");
    let acme_keys = scan(&acme).await?;
    let globex_keys = scan(&globex).await?;
    println!("dev        acme scan * -> {acme_keys:?}");
    println!("dev        globex scan * -> {globex_keys:?}");
    assert_eq!(acme_keys, ["plan", "sso-config"]);
    assert_eq!(globex_keys, ["plan"]);

    println!("\n== identifiers cannot forge another chain");
    let forged = store.scope(tenant::Organization, "acme:project:1")?;
    println!(
        "kv         organization \"acme:project:1\" -> {}",
        forged.kv().key("settings")?
    );
    let forged_read: Option<String> = forged.kv().get("settings").await?;
    println!("kv         ... reads acme's project 1 settings -> {forged_read:?}");
    assert_eq!(forged_read, None);

    println!("\n== events: subscribe_all sees only its own organization");
    globex
        .events()
        .publish(&activity::SIGNED_IN, &member("wile"))
        .await?;
    acme.events()
        .publish(
            &activity::INVOICE_PAID,
            &InvoicePaid {
                invoice: "inv_1".into(),
                cents: 99_00,
            },
        )
        .await?;
    acme.events()
        .publish(&activity::SIGNED_IN, &member("ada"))
        .await?;
    let acme_got = receive(&mut acme_events, "acme").await?;
    let globex_got = receive(&mut globex_events, "globex").await?;
    assert_eq!(acme_got, ["activity:invoice_paid", "activity:signed_in"]);
    assert_eq!(globex_got, ["activity:signed_in"]);

    println!("\n== offboarding acme: purge() removes every key of it and its projects");
    let removed = acme.purge().await?;
    println!("purge      acme: {removed} keys removed");
    assert!(removed > 0);
    let gone = (
        acme.kv().get::<String>("plan").await?,
        acme.counter().get("seats").await?,
        audit_len(&acme).await?,
        scan(&acme).await?,
        acme.scope(tenant::Project, 1)?
            .kv()
            .get::<String>("settings")
            .await?,
    );
    println!(
        "acme       plan {:?}, seats {}, audit-log {}, keys {:?}, project 1 settings {:?}",
        gone.0, gone.1, gone.2, gone.3, gone.4
    );
    assert_eq!(gone, (None, 0, 0, vec![], None));
    // Its claims went with it: a held claim can no longer be extended, and
    // the names are free again.
    let extended = match &acme_export {
        Some(claim) => claim.extend(ttl()).await?,
        None => unreachable!(),
    };
    println!("acme       nightly-export claim extended after the purge: {extended}");
    assert!(!extended);
    assert!(acme.claim().once("billing-run", &"after", ttl()).await?);

    println!("\n== globex is intact");
    let kept = (
        globex.kv().get::<String>("plan").await?,
        globex.counter().get("seats").await?,
        audit_len(&globex).await?,
        scan(&globex).await?,
        globex
            .scope(tenant::Project, 1)?
            .kv()
            .get::<String>("settings")
            .await?,
    );
    println!(
        "globex     plan {:?}, seats {}, audit-log {}, keys {:?}, project 1 settings {:?}",
        kept.0, kept.1, kept.2, kept.3, kept.4
    );
    assert_eq!(
        kept,
        (
            Some("starter".into()),
            3,
            1,
            vec!["plan".to_owned()],
            Some("starter defaults".into())
        )
    );
    // Its claim is still held by its owner, and its events still flow.
    let held = !globex
        .claim()
        .once("billing-run", &"intruder", ttl())
        .await?;
    let extended = match &globex_export {
        Some(claim) => claim.extend(ttl()).await?,
        None => unreachable!(),
    };
    println!("globex     billing-run still claimed: {held}; nightly-export extended: {extended}");
    assert!(held && extended);
    globex
        .events()
        .publish(&activity::SIGNED_IN, &member("road-runner"))
        .await?;
    assert_eq!(
        receive(&mut globex_events, "globex").await?,
        ["activity:signed_in"]
    );

    // Leave nothing behind on a shared Redis.
    drop((acme_events, globex_events));
    acme.purge().await?;
    globex.purge().await?;
    println!(
        "\nok: the organizations never saw each other, and offboarding one left the other whole"
    );
    Ok(())
}

fn ttl() -> Duration {
    Duration::from_secs(60)
}

fn member(name: &str) -> SignedIn {
    SignedIn {
        member: name.into(),
    }
}

/// One organization's data in every namespace, under the same names for all.
async fn write(org: &Org, plan: &str, seats: i64, audit: &[&str]) -> StoreResult<()> {
    org.kv().set("plan", &plan).await?;
    org.scope(tenant::Project, 1)?
        .kv()
        .set("settings", &format!("{plan} defaults"))
        .await?;
    org.counter().increment_by("seats", seats).await?;
    org.counter().increment("api-calls").await?;
    let owner = format!("{plan}-billing");
    assert!(org.claim().once("billing-run", &owner, ttl()).await?);
    for action in audit {
        let entry = AuditEntry {
            action: (*action).into(),
        };
        org.streams().append("audit-log", &entry).await?;
    }
    Ok(())
}

async fn audit_len(org: &Org) -> StoreResult<u64> {
    org.streams().len("audit-log").await
}

async fn scan(org: &Org) -> StoreResult<Vec<String>> {
    let mut keys: Vec<String> = org.dev().scan_all("*").try_collect().await?;
    keys.sort();
    Ok(keys)
}

/// The generated `activity::Event` has one variant per channel, each with
/// its typed payload.
fn describe(event: &activity::Event) -> String {
    match event {
        activity::Event::SignedIn(e) => format!("{} signed in", e.member),
        activity::Event::InvoicePaid(e) => format!("{} paid, {} cents", e.invoice, e.cents),
    }
}

/// Every event that arrives until the subscription has been quiet for a
/// while; each must come from `org`. Returns their types.
async fn receive(
    events: &mut Subscription<activity::Event>,
    org: &str,
) -> StoreResult<Vec<String>> {
    let mut types = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(QUIET, events.next()).await {
        let event: Arc<EventContext<activity::Event>> = event?;
        let from = event.scope.as_ref().map(|s| s.identifier.as_str());
        println!(
            "events     {org} received {} from organization {from:?}: {}",
            event.event_type,
            describe(&event.data)
        );
        assert_eq!(from, Some(org));
        types.push(event.event_type.clone());
    }
    println!("events     {org}: nothing else within {QUIET:?}");
    Ok(types)
}
