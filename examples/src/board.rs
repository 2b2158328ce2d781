//! A job queue with its board: an `axum` service where each tenant queues
//! emails, a worker per tenant sends them (dead-lettering those that fail
//! too often), and `igniter-store-board` shows each tenant its own queue.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /tenants/{id}/emails` | queues `{"to": .., "subject": .., "fail_first": n}`; `202` with the entry id |
//! | `GET /tenants/{id}/board/..` | the tenant's board ([`igniter_store_board::Board::per_tenant`]), actions on |
//!
//! - **The queue** is the stream `jobs:send` ([`jobs::SEND`]) of each
//!   tenant; its worker ([`spawn_worker`]) is one consumer of the group
//!   `mailers`. A job "fails" (the worker does not acknowledge it) on its
//!   first `fail_first` attempts, counted per job in the tenant's counter
//!   `attempts:<to>:<subject>`: the way a job fails while the mail server
//!   is down. An entry delivered more than [`MAX_DELIVERIES`] times moves to
//!   `jobs:send:dead`.
//! - **A sent email** is appended to the stream `jobs:sent` and published
//!   as the event [`mail::SENT`], so the board shows it twice: in that
//!   stream's newest entries and in the live tail.
//! - **The board** is mounted with [`Board::per_tenant`](igniter_store_board::Board::per_tenant)
//!   at `/tenants/{tenant}/board`: each request reads through the handle of
//!   the tenant in its path, so a tenant's board shows its own queue and
//!   nothing of another's. Retrying a dead letter from the board appends it
//!   back to `jobs:send`, where the worker takes it again; with
//!   `fail_first` spent, it is sent. A real service puts its own
//!   authentication in front of the board (who may see which tenant).
//!
//! The binary (`src/bin/board.rs`) serves it; the tests
//! (`tests/board.rs`) run it over HTTP and in headless Chromium.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use futures::StreamExt;
use igniter_store::adapter::Backend;
use igniter_store::{ErrorCode, Store, StoreResult, StoreScopes, events};
use igniter_store_board::Board;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// Every key, stream and channel of the service lives under an
/// organization.
#[derive(StoreScopes, Clone, Copy, Debug)]
pub enum Tenant {
    /// A customer organization: `/tenants/{id}/..`.
    #[scope(required)]
    Organization,
}

/// The store at its root: no data operations, every key is a tenant's.
pub type AppStore = Store<Tenant>;

/// One organization's handle.
pub type OrgStore = Store<tenant::Organization>;

/// An email to send: the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// How many attempts fail before one succeeds (a mail server that is
    /// down for a while); `0` by default.
    #[serde(default)]
    pub fail_first: u32,
}

/// A sent email: what the worker appends to `jobs:sent` and publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The attempt that succeeded (1 for the first).
    pub attempt: i64,
}

events! {
    /// The job queues: streams.
    pub jobs {
        /// Emails to send: the stream `jobs:send`.
        send(Email),
    }
}

events! {
    /// Events about mail.
    pub mail {
        /// An email was sent.
        sent(Sent),
    }
}

/// Where the worker dead-letters.
pub const DEAD_LETTERS: &str = "jobs:send:dead";
/// Where the worker records what it sent.
pub const SENT: &str = "jobs:sent";
/// The worker's consumer group.
pub const GROUP: &str = "mailers";
/// Deliveries before an entry is dead-lettered.
pub const MAX_DELIVERIES: u64 = 2;
/// How long a failed attempt stays pending before it is delivered again.
pub const RETRY_AFTER: Duration = Duration::from_millis(300);

/// The service's store: `service("board-example")`, organizations as the
/// required scope, the `mail` events registered.
pub fn store(adapter: Backend) -> StoreResult<AppStore> {
    Store::builder()
        .shared_adapter(adapter)
        .service("board-example")
        .scopes::<Tenant>()
        .events(mail::REGISTRY)
        .build()
}

/// The routes: queueing emails, and every tenant's board at
/// `/tenants/{tenant}/board`.
pub fn router(store: AppStore) -> Router {
    let root = store.clone();
    let board = Board::per_tenant("tenant", move |id| root.scope(tenant::Organization, id))
        .dead_letters(&jobs::SEND, DEAD_LETTERS)
        .stream(SENT)
        .events(&mail::SENT)
        .actions(true)
        .router();
    Router::new()
        .route("/tenants/{tenant}/emails", post(queue))
        .with_state(store)
        .nest("/tenants/{tenant}/board", board)
}

/// The reply to a queued email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The entry id in `jobs:send`.
    pub id: String,
}

async fn queue(
    State(store): State<AppStore>,
    Path(tenant): Path<String>,
    Json(email): Json<Email>,
) -> Result<(StatusCode, Json<Queued>), (StatusCode, String)> {
    let org = store
        .scope(tenant::Organization, &tenant)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.code().as_str().to_owned()))?;
    let id = org
        .streams()
        .append(&jobs::SEND, &email)
        .await
        .map_err(|e| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                e.code().as_str().to_owned(),
            )
        })?;
    Ok((StatusCode::ACCEPTED, Json(Queued { id })))
}

/// Starts the worker of one tenant's queue: it sends what it can and leaves
/// the rest pending, to be delivered again after [`RETRY_AFTER`] and
/// dead-lettered after [`MAX_DELIVERIES`]. It ends when the store closes.
pub fn spawn_worker(org: OrgStore, consumer: &str) -> JoinHandle<()> {
    let group = org.streams().group(GROUP, consumer);
    tokio::spawn(async move {
        let mut worker = group
            .worker(&jobs::SEND)
            .block(Duration::from_millis(200))
            .reclaim_idle(RETRY_AFTER)
            .dead_letter(MAX_DELIVERIES, DEAD_LETTERS)
            .start();
        while let Some(delivery) = worker.next().await {
            let delivery = match delivery {
                Ok(delivery) => delivery,
                Err(e) if e.code() == ErrorCode::NotConnected => break,
                Err(_) => continue,
            };
            let Ok(email) = &delivery.data else {
                continue; // dead-lettered once delivered too often
            };
            // Not acknowledged when it fails: delivered again after
            // RETRY_AFTER, dead-lettered after MAX_DELIVERIES.
            if let Ok(true) = send(&org, email).await {
                let _ = delivery.ack().await;
            }
        }
    })
}

/// One attempt at sending `email`: `Ok(false)` while the mail server is
/// "down" for it.
async fn send(org: &OrgStore, email: &Email) -> StoreResult<bool> {
    let attempt = org
        .counter()
        .increment(&format!("attempts:{}:{}", email.to, email.subject))
        .await?;
    if attempt <= i64::from(email.fail_first) {
        return Ok(false);
    }
    let sent = Sent {
        to: email.to.clone(),
        subject: email.subject.clone(),
        attempt,
    };
    org.streams().append(SENT, &sent).await?;
    org.events().publish(&mail::SENT, &sent).await?;
    Ok(true)
}
