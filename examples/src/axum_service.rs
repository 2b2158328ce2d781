//! An `axum` HTTP service on the store: a per-tenant rate limiter (counters),
//! idempotency keys (claims) and typed events streamed to clients as
//! server-sent events.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /tenants/{id}/orders` | creates an order from `{"item": .., "quantity": ..}`; `201` with the order |
//! | `GET /tenants/{id}/orders/{order}` | the order, or `404` |
//! | `GET /tenants/{id}/events` | `text/event-stream`: one `event: orders:created` + `data: <the order as JSON>` per order created in the tenant |
//!
//! - **Rate limit**: every `POST` increments the tenant's counter
//!   `rate:orders` with [`ttl_on_create`](igniter_store::counter::Increment::ttl_on_create):
//!   the first request of a window creates the counter with the window as its
//!   TTL, so the window is fixed and resets by itself. Past
//!   [`Config::rate_limit`] requests in a window: `429 Too Many Requests`.
//!   Each tenant has its own counter: one tenant at its limit never slows
//!   another.
//! - **Idempotency**: a `POST` with an `Idempotency-Key` header claims the
//!   key with [`once`](igniter_store::claim::Claims::once) for
//!   [`Config::in_flight_ttl`]. The request that wins creates the order and
//!   stores its response under the key for [`Config::idempotency_ttl`]; a
//!   repeated request gets the stored response (`200`,
//!   `idempotent-replayed: true`), `409 Conflict` while the first one is
//!   still in flight, and `422` if it reuses the key for another body. A
//!   request that fails releases its claim, and one that dies mid-way lets
//!   it expire, so the client can retry.
//! - **Events**: creating an order publishes `orders::CREATED`, a typed
//!   channel; `GET /tenants/{id}/events` subscribes to it in the tenant's
//!   scope before it answers, so an event published after the response
//!   headers reach the client is never missed. Every local SSE client of a
//!   tenant shares one adapter subscription. Pub/sub is fire and forget: a
//!   client that reconnects does not get what it missed (a stream would).
//!
//! The binary (`src/bin/axum_service.rs`) serves it; the test
//! (`tests/axum_service.rs`) runs it in process.

use igniter_store::adapter::Backend;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use igniter_store::{ErrorCode, Store, StoreError, StoreResult, StoreScopes, events};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// Every key and channel of the service lives under an organization.
#[derive(StoreScopes, Clone, Copy, Debug)]
pub enum Tenant {
    /// A customer organization: `/tenants/{id}/..`.
    #[scope(required)]
    Organization,
}

/// The store of the service, at its root: it has no data operations, since
/// every key lives under an organization.
pub type AppStore = Store<Tenant>;

/// One organization's handle: `store.scope(tenant::Organization, id)?`.
pub type OrgStore = Store<tenant::Organization>;

/// An order as the service stores it, returns it and streams it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// `ord_<n>`, unique within the tenant.
    pub id: String,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// The body of `POST /tenants/{id}/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// What to order.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

events! {
    /// Events about orders.
    pub orders {
        /// An order was created.
        created(Order),
    }
}

/// The service's limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests per tenant and window on `POST /tenants/{id}/orders`.
    pub rate_limit: i64,
    /// The rate limiter's fixed window.
    pub rate_window: Duration,
    /// How long an idempotency key's stored response is kept (and replayed).
    pub idempotency_ttl: Duration,
    /// How long a request holds its idempotency key's claim while it runs:
    /// longer than any request takes. A request that dies mid-way frees the
    /// key for a retry after this long.
    pub in_flight_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rate_limit: 10,
            rate_window: Duration::from_secs(60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            in_flight_ttl: Duration::from_secs(30),
        }
    }
}

/// The header that makes a `POST` idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response replayed for a repeated idempotency key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The service's store: `service("orders-api")`, organizations as the
/// required scope, the `orders` events registered.
pub fn store(adapter: Backend) -> StoreResult<AppStore> {
    Store::builder()
        .shared_adapter(adapter)
        .service("orders-api")
        .scopes::<Tenant>()
        .events(orders::REGISTRY)
        .build()
}

#[derive(Debug, Clone)]
struct AppState {
    store: AppStore,
    config: Arc<Config>,
}

/// The routes, on `store`.
pub fn router(store: AppStore, config: Config) -> Router {
    Router::new()
        .route("/tenants/{tenant}/orders", post(create_order))
        .route("/tenants/{tenant}/orders/{order}", get(get_order))
        .route("/tenants/{tenant}/events", get(order_events))
        .with_state(AppState {
            store,
            config: Arc::new(config),
        })
}

/// Binds `127.0.0.1:port` (`0`: a free port the kernel picks).
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// What a request that failed gets: a status and `{"code", "message"}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The store's messages never hold a key, a value or an identifier,
        // so they can be returned as they are.
        let status = match e.code() {
            ErrorCode::ScopeIdentifierRequired | ErrorCode::KeyRequired => StatusCode::BAD_REQUEST,
            ErrorCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.code().as_str(), e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "code": self.code, "message": self.message }));
        (self.status, body).into_response()
    }
}

/// What an idempotency key stores: the request, to refuse the key for
/// another body, and the response to replay.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    request: NewOrder,
    response: Order,
}

async fn create_order(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewOrder>,
) -> Result<Response, ApiError> {
    let org = state.store.scope(tenant::Organization, &tenant)?;
    let config = &state.config;

    // The rate limiter: one counter per tenant and window. Only the increment
    // that creates the counter sets its TTL, so the window does not slide.
    let used = org
        .counter()
        .increment("rate:orders")
        .ttl_on_create(config.rate_window)
        .await?;
    let remaining = (config.rate_limit - used).max(0);
    let mut limit_headers = HeaderMap::new();
    limit_headers.insert("x-ratelimit-limit", HeaderValue::from(config.rate_limit));
    limit_headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    let result = if used > config.rate_limit {
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!(
                "at most {} orders per {:?}",
                config.rate_limit, config.rate_window
            ),
        ))
    } else {
        match idempotency_key(&headers) {
            Err(e) => Err(e),
            Ok(None) => create(&org, &new)
                .await
                .map(|order| (StatusCode::CREATED, Json(order)).into_response())
                .map_err(ApiError::from),
            Ok(Some(key)) => create_once(&org, config, &format!("idempotency:{key}"), new).await,
        }
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().extend(limit_headers);
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= 255 => Ok(Some(key)),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_IDEMPOTENCY_KEY",
            "an Idempotency-Key is 1 to 255 visible ASCII characters",
        )),
    }
}

/// Creates the order once per idempotency key (`key`, in the tenant's claim
/// and kv namespaces).
async fn create_once(
    org: &OrgStore,
    config: &Config,
    key: &str,
    new: NewOrder,
) -> Result<Response, ApiError> {
    if let Some(stored) = org.kv().get::<Stored>(key).await? {
        return replay(stored, &new);
    }
    let owner = request_id();
    if !org.claim().once(key, &owner, config.in_flight_ttl).await? {
        // Another request holds the key: it is in flight, or it finished
        // since the read above.
        return match org.kv().get::<Stored>(key).await? {
            Some(stored) => replay(stored, &new),
            None => Err(ApiError::new(
                StatusCode::CONFLICT,
                "IDEMPOTENCY_KEY_IN_FLIGHT",
                "a request with this Idempotency-Key is in progress",
            )),
        };
    }
    let result = async {
        let order = create(org, &new).await?;
        let stored = Stored {
            request: new,
            response: order,
        };
        org.kv()
            .set(key, &stored)
            .ttl(config.idempotency_ttl)
            .await?;
        Ok::<_, StoreError>(stored.response)
    }
    .await;
    match result {
        Ok(order) => Ok((StatusCode::CREATED, Json(order)).into_response()),
        Err(e) => {
            // Let the client retry with the same key.
            let _ = org.claim().release(key, &owner).await;
            Err(e.into())
        }
    }
}

/// The stored response of an earlier request with the same key, if it had
/// the same body.
fn replay(stored: Stored, new: &NewOrder) -> Result<Response, ApiError> {
    if stored.request != *new {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used for another request",
        ));
    }
    let mut response = (StatusCode::OK, Json(stored.response)).into_response();
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// Stores the order and publishes `orders::CREATED` in the tenant's scope.
async fn create(org: &OrgStore, new: &NewOrder) -> StoreResult<Order> {
    let n = org.counter().increment("orders:next-id").await?;
    let order = Order {
        id: format!("ord_{n}"),
        item: new.item.clone(),
        quantity: new.quantity,
    };
    org.kv().set(&format!("order:{}", order.id), &order).await?;
    org.events().publish(&orders::CREATED, &order).await?;
    Ok(order)
}

/// A value unique to one request, the owner of its idempotency claim.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn get_order(
    State(state): State<AppState>,
    Path((tenant, order)): Path<(String, String)>,
) -> Result<Json<Order>, ApiError> {
    let org = state.store.scope(tenant::Organization, &tenant)?;
    match org.kv().get::<Order>(&format!("order:{order}")).await? {
        Some(order) => Ok(Json(order)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such order",
        )),
    }
}

/// `GET /tenants/{id}/events`: the tenant's `orders::CREATED` events as
/// server-sent events. The subscription is active before the response
/// starts; it ends when the client goes away (dropping the subscription
/// unsubscribes) or when the store is closed.
async fn order_events(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, axum::Error>>>, ApiError> {
    let org = state.store.scope(tenant::Organization, &tenant)?;
    let subscription = org.events().subscribe(&orders::CREATED).await?;
    let events = subscription.map(|item| match item {
        // `ev.data` is an `Order`, typed by the channel.
        Ok(ev) => Event::default().event(&ev.event_type).json_data(&ev.data),
        // A lagging client or an undecodable message: tell the client, go on.
        Err(e) => Ok(Event::default()
            .event("error")
            .json_data(serde_json::json!({ "code": e.code().as_str(), "message": e.message() }))
            .unwrap_or_default()),
    });
    // A first comment, so the client sees the stream open at once.
    let opened = futures::stream::once(async { Ok(Event::default().comment("subscribed")) });
    Ok(Sse::new(opened.chain(events)).keep_alive(KeepAlive::default()))
}
