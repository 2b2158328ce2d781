//! The store's metrics in Prometheus: the `metrics` feature reports every
//! operation (a counter by outcome, a latency histogram), subscriber lag and
//! stream dead letters through the `metrics` facade; this program installs
//! `metrics-exporter-prometheus` as the recorder and serves `/metrics` with
//! axum, as a service would next to its own routes.
//!
//! ```text
//! cargo run -p igniter-store-examples --bin metrics
//! IGNITER_METRICS_ADDR=127.0.0.1:9898 IGNITER_METRICS_SERVE_SECS=600 cargo run -p igniter-store-examples --bin metrics
//! curl -s http://127.0.0.1:9898/metrics | grep igniter_store
//! ```
//!
//! `IGNITER_METRICS_ADDR` sets the address (a free port by default), and
//! `IGNITER_METRICS_SERVE_SECS` how long to serve after the workload (0: print
//! the store's series and exit). No label ever holds a tenant identifier, a
//! key or a payload: the tenants below are named `lovelace-labs` and
//! `hopper-inc`, and neither appears in `/metrics`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use futures::StreamExt;
use igniter_store::adapter::Backend;
use igniter_store::telemetry::metrics;
use igniter_store::{
    MemoryAdapter, RedisAdapter, Store, StoreAdapter, StoreError, StoreScopes, events,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use serde::{Deserialize, Serialize};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
}

/// The payload of `orders::PLACED`.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderPlaced {
    total_cents: u64,
}

events! {
    /// Order events.
    pub orders {
        /// An order was placed.
        placed(OrderPlaced),
    }
}

/// The payload of `jobs::RESIZE`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resize {
    width: u32,
}

events! {
    /// Job queues.
    pub jobs {
        /// Images to resize.
        resize(Resize),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("IGNITER_METRICS_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:0".into())
        .parse()?;
    let serve_for = Duration::from_secs(
        std::env::var("IGNITER_METRICS_SERVE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    );

    // The recorder: every `metrics` series of the process, as Prometheus
    // text; latencies as histograms with buckets from 100 µs to 5 s.
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(metrics::DURATION.into()),
            &[
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 5.0,
            ],
        )?
        .install_recorder()?;

    // Subscribers may fall 4 messages behind, so that the workload shows a
    // lagging one.
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => RedisAdapter::builder(&url)
            .subscriber_capacity(4)
            .connect()
            .await?
            .into_backend(),
        Err(_) => MemoryAdapter::with_subscriber_capacity(4).into_backend(),
    };
    let store = Store::builder()
        .shared_adapter(adapter)
        .service("metrics-example")
        .scopes::<Tenant>()
        .events(orders::REGISTRY)
        .build()?;
    workload(&store).await?;

    // `/metrics`, as a route of the service's own router.
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let prometheus = prometheus.clone();
            async move { prometheus.render() }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/metrics", listener.local_addr()?);
    println!("metrics   serving {url}");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    if serve_for.is_zero() {
        // Scrape it once, over HTTP, and show the store's series.
        let body = scrape(&url).await?;
        for line in body
            .lines()
            .filter(|l| l.starts_with("igniter_store_operations_total"))
        {
            println!("metrics   {line}");
        }
    } else {
        tokio::time::sleep(serve_for).await;
    }
    server.abort();
    Ok(())
}

/// Some of everything: successes, a refused operation, a subscriber.
async fn workload(store: &Store<Tenant>) -> Result<(), StoreError> {
    for org in ["lovelace-labs", "hopper-inc"] {
        let org = store.scope(tenant::Organization, org)?;
        org.kv().set("plan", &"pro").await?;
        let _: Option<String> = org.kv().get("plan").await?;
        org.counter().increment("logins").await?;
        // A zero TTL is refused: an `outcome="STORE_TTL_INVALID"` series.
        let _ = org.kv().set("x", &1).ttl(Duration::ZERO).await;

        // A subscriber that falls behind: 10 published, 4 kept, 6 counted lost.
        let mut placed = org.events().subscribe(&orders::PLACED).await?;
        for _ in 0..10 {
            org.events()
                .publish(&orders::PLACED, &OrderPlaced { total_cents: 990 })
                .await?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = placed.next().await;

        // A stream with a poison entry: delivered twice, then dead-lettered.
        let streams = org.streams();
        streams.append(&jobs::RESIZE, &Resize { width: 64 }).await?;
        let key = streams.key(&jobs::RESIZE)?;
        org.adapter().xadd(&key, "{not json".into(), None).await?;
        let group = streams.group("resizers", "worker-1");
        group.ensure(&jobs::RESIZE).await?;
        let pending = group.pending(&jobs::RESIZE).await?; // the gauge
        let _ = pending.count;
        let mut worker = group
            .worker(&jobs::RESIZE)
            .block(Duration::from_millis(20))
            .reclaim_idle(Duration::from_millis(20))
            .dead_letter(1, "jobs:resize:dead")
            .start();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while streams.len("jobs:resize:dead").await? == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing dead-lettered"
            );
            // The good job is acknowledged; the poison one never is.
            if let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_millis(50), worker.next()).await
                && delivery.data.is_ok()
            {
                delivery.ack().await?;
            }
        }
        group.pending(&jobs::RESIZE).await?;
        drop(worker);
        org.purge().await?;
    }
    Ok(())
}

/// `GET url` over a plain TCP connection: what Prometheus does.
async fn scrape(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
    let (host, path) = rest.split_once('/').ok_or("no path")?;
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (_, body) = response.split_once("\r\n\r\n").ok_or("no body")?;
    Ok(body.to_owned())
}
