//! The axum service example, served in process on a free port and used
//! through `reqwest` as a client would:
//!
//! - the SSE stream delivers a typed event that another task publishes
//!   through the store (and an order created over HTTP), only the tenant's
//!   own, on memory and on a Redis the test starts;
//! - the rate limiter answers `429` past the limit, per tenant, and its
//!   window resets;
//! - an idempotency key replays the stored response, refuses another body
//!   (`422`) and a request still in flight (`409`), and frees the key of a
//!   request that died;
//! - the binary serves on `PORT` and stops on Ctrl-C (SIGINT) with an event
//!   stream open.

mod common;

use igniter_store::adapter::Backend;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use igniter_store::{MemoryAdapter, RedisAdapter, StoreAdapter};
use igniter_store_examples::axum_service::{
    self, AppStore, Config, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, Order, OrgStore, orders, tenant,
};
use reqwest::StatusCode;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a client waits for an event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The service, served in process until dropped.
struct Service {
    url: String,
    store: AppStore,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Service {
    async fn start(adapter: Backend, config: Config) -> Service {
        let store = axum_service::store(adapter).unwrap();
        let listener = axum_service::bind(0).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = axum_service::router(store.clone(), config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(axum_service::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        Service {
            url,
            store,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn on_memory(config: Config) -> Service {
        Service::start(MemoryAdapter::new().into_backend(), config).await
    }

    fn org(&self, tenant: &str) -> OrgStore {
        self.store.scope(tenant::Organization, tenant).unwrap()
    }

    /// `POST /tenants/{tenant}/orders`, with an idempotency key if given.
    async fn order(
        &self,
        tenant: &str,
        item: &str,
        quantity: u32,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/tenants/{tenant}/orders", self.url))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "item": item, "quantity": quantity }).to_string());
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        request.send().await.unwrap()
    }

    /// Opens `GET /tenants/{tenant}/events`; the subscription is active once
    /// this returns (the service subscribes before it answers).
    async fn events(&self, tenant: &str) -> SseClient {
        let response = self
            .client
            .get(format!("{}/tenants/{tenant}/events", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        SseClient {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// Stops the server (closing the store first, which ends open event
    /// streams) and waits for it.
    async fn stop(mut self) {
        self.store.close().await.unwrap();
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// One server-sent event.
#[derive(Debug)]
struct SseEvent {
    event: Option<String>,
    data: String,
}

/// Reads server-sent events from a response body, as `EventSource` would:
/// events are separated by a blank line; `event:` names them, `data:` lines
/// carry the data, lines starting with `:` are comments.
struct SseClient {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl SseClient {
    /// The next event with data, comments and keep-alives skipped; `None`
    /// when the stream ends.
    async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = None;
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = Some(name.trim_start().to_owned());
                    } else if let Some(line) = line.strip_prefix("data:") {
                        data.push(line.strip_prefix(' ').unwrap_or(line).to_owned());
                    }
                }
                if !data.is_empty() {
                    return Some(SseEvent {
                        event,
                        data: data.join("\n"),
                    });
                }
            }
            let chunk = self.body.next().await?.unwrap();
            self.buffer
                .push_str(std::str::from_utf8(chunk.as_ref()).unwrap());
        }
    }

    /// The next event within [`EVENT_TIMEOUT`].
    async fn expect_event(&mut self) -> SseEvent {
        tokio::time::timeout(EVENT_TIMEOUT, self.next_event())
            .await
            .expect("an event within the timeout")
            .expect("the stream is open")
    }

    /// The next order event, its data parsed as the channel's payload type.
    async fn expect_order(&mut self) -> Order {
        let event = self.expect_event().await;
        assert_eq!(event.event.as_deref(), Some("orders:created"));
        serde_json::from_str(&event.data).unwrap()
    }
}

fn order(id: &str, item: &str, quantity: u32) -> Order {
    Order {
        id: id.into(),
        item: item.into(),
        quantity,
    }
}

/// The client receives what another task publishes through the store on the
/// typed channel, and nothing of another tenant.
async fn sse_delivers_typed_events(service: Service) {
    let mut acme = service.events("acme").await;

    let (acme_org, globex_org) = (service.org("acme"), service.org("globex"));
    let publisher = tokio::spawn(async move {
        // Another tenant's event first: the client must not see it.
        globex_org
            .events()
            .publish(&orders::CREATED, &order("ord_g1", "anvil", 1))
            .await
            .unwrap();
        acme_org
            .events()
            .publish(&orders::CREATED, &order("ord_a1", "rocket skates", 2))
            .await
            .unwrap()
    });
    let receivers = publisher.await.unwrap();
    assert!(receivers >= 1, "the SSE client's subscription received it");
    assert_eq!(
        acme.expect_order().await,
        order("ord_a1", "rocket skates", 2)
    );

    // An order created over HTTP is streamed too.
    let response = service.order("acme", "tea", 3, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Order = response.json_body().await;
    assert_eq!(acme.expect_order().await, created);
    assert_eq!((created.item.as_str(), created.quantity), ("tea", 3));

    // Closing the store ends the stream, and the server stops.
    service.stop().await;
    let end = tokio::time::timeout(EVENT_TIMEOUT, acme.next_event())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "no event after the store closed: {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_client_receives_typed_event_published_by_another_task() {
    sse_delivers_typed_events(Service::on_memory(Config::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_client_receives_typed_event_published_by_another_task_on_redis() {
    if common::redis::skip_redis() {
        return;
    }
    let url = common::redis::shared().url();
    let adapter = RedisAdapter::connect(&url).await.unwrap();
    let service = Service::start(adapter.into_backend(), Config::default()).await;
    service.org("acme").purge().await.unwrap();
    sse_delivers_typed_events(service).await;
}

/// A `Response`'s body as JSON.
trait JsonBody {
    async fn json_body<T: serde::de::DeserializeOwned>(self) -> T;
}

impl JsonBody for reqwest::Response {
    async fn json_body<T: serde::de::DeserializeOwned>(self) -> T {
        let text = self.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

#[tokio::test]
async fn rate_limit_answers_429_past_the_limit_per_tenant() {
    let service = Service::on_memory(Config {
        rate_limit: 3,
        rate_window: Duration::from_secs(60),
        ..Config::default()
    })
    .await;
    for remaining in [2, 1, 0] {
        let response = service.order("acme", "tea", 1, None).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            remaining.to_string()
        );
    }
    let response = service.order("acme", "tea", 1, None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["x-ratelimit-limit"], "3");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    let body: serde_json::Value = response.json_body().await;
    assert_eq!(body["code"], "RATE_LIMITED");

    // Another tenant has its own window.
    let response = service.order("globex", "tea", 1, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // The limited request created nothing: three orders, ord_1 to ord_3.
    let acme = service.org("acme");
    assert_eq!(acme.counter().get("orders:next-id").await.unwrap(), 3);
}

#[tokio::test]
async fn rate_limit_window_resets() {
    let window = Duration::from_millis(500);
    let service = Service::on_memory(Config {
        rate_limit: 1,
        rate_window: window,
        ..Config::default()
    })
    .await;
    let started = Instant::now();
    assert_eq!(
        service.order("acme", "tea", 1, None).await.status(),
        StatusCode::CREATED
    );
    let second = service.order("acme", "tea", 1, None).await.status();
    // On a machine slow enough to need more than the window for two local
    // requests, the second one is in a new window; otherwise it is limited.
    if started.elapsed() < window {
        assert_eq!(second, StatusCode::TOO_MANY_REQUESTS);
    }
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    assert_eq!(
        service.order("acme", "tea", 1, None).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn idempotency_key_replays_refuses_and_conflicts() {
    let service = Service::on_memory(Config::default()).await;
    let mut events = service.events("acme").await;

    // The first request creates the order.
    let first = service.order("acme", "tea", 2, Some("key-1")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get(IDEMPOTENT_REPLAYED).is_none());
    let created: Order = first.json_body().await;
    assert_eq!(events.expect_order().await, created);

    // The same request again: the stored response, nothing created.
    let again = service.order("acme", "tea", 2, Some("key-1")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()[IDEMPOTENT_REPLAYED], "true");
    assert_eq!(again.json_body::<Order>().await, created);

    // The key with another body: refused.
    let other = service.order("acme", "coffee", 1, Some("key-1")).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = other.json_body().await;
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED");

    // A request still in flight holds the key's claim and has stored no
    // response yet: a repeat gets 409.
    let acme = service.org("acme");
    assert!(
        acme.claim()
            .once(
                "idempotency:key-2",
                &"a request in flight",
                Duration::from_secs(60)
            )
            .await
            .unwrap()
    );
    let conflict = service.order("acme", "tea", 2, Some("key-2")).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = conflict.json_body().await;
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_IN_FLIGHT");

    // Keys are per tenant: globex's key-1 is a new request.
    let globex = service.order("globex", "coffee", 1, Some("key-1")).await;
    assert_eq!(globex.status(), StatusCode::CREATED);

    // One order, one event in acme.
    assert_eq!(acme.counter().get("orders:next-id").await.unwrap(), 1);
    let response = service
        .client
        .get(format!(
            "{}/tenants/acme/orders/{}",
            service.url, created.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json_body::<Order>().await, created);
    let no_event = tokio::time::timeout(Duration::from_millis(300), events.next_event()).await;
    assert!(no_event.is_err(), "no second event: {no_event:?}");
}

#[tokio::test]
async fn a_request_that_died_frees_its_key_after_the_in_flight_ttl() {
    let in_flight = Duration::from_millis(300);
    let service = Service::on_memory(Config {
        in_flight_ttl: in_flight,
        ..Config::default()
    })
    .await;
    // A request claimed the key, then its process died before it stored a
    // response.
    assert!(
        service
            .org("acme")
            .claim()
            .once("idempotency:key-3", &"a dead request", in_flight)
            .await
            .unwrap()
    );
    let retry = service.order("acme", "tea", 1, Some("key-3")).await;
    assert_eq!(retry.status(), StatusCode::CONFLICT);
    tokio::time::sleep(in_flight + Duration::from_millis(100)).await;
    let retry = service.order("acme", "tea", 1, Some("key-3")).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    // From now on the stored response is replayed, claim or no claim.
    tokio::time::sleep(in_flight + Duration::from_millis(100)).await;
    let again = service.order("acme", "tea", 1, Some("key-3")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()[IDEMPOTENT_REPLAYED], "true");
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused() {
    let service = Service::on_memory(Config::default()).await;
    let long = "k".repeat(256);
    let response = service.order("acme", "tea", 1, Some(&long)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json_body().await;
    assert_eq!(body["code"], "INVALID_IDEMPOTENCY_KEY");
}

/// The binary: serves on `PORT=0` (a free port it prints), answers, and stops
/// on SIGINT with an event stream open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_axum_service"))
        .env_remove(common::REDIS_URL_ENV)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    });
    let (line, mut stdout) = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("the binary prints its address")
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{url}/tenants/acme/orders"))
        .header("content-type", "application/json")
        .body(r#"{"item":"tea","quantity":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let events = client
        .get(format!("{url}/tenants/acme/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);

    // Ctrl-C: the process this test started, by its pid.
    let status = common::interrupt(child, pid).await;
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.ends_with("stopped\n"), "{rest}");
    drop(events);
}
