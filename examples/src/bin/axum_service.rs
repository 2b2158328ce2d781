//! An HTTP service with a per-tenant rate limiter (counters), idempotency
//! keys (claims) and typed events as server-sent events; see
//! `src/axum_service.rs` for the routes and how each works.
//!
//! ```text
//! cargo run -p igniter-store-examples --bin axum_service
//! PORT=3000 IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin axum_service
//! ```
//!
//! It listens on `127.0.0.1:$PORT` (a free port when `PORT` is unset) and
//! prints the address and a few `curl` commands. Ctrl-C closes the store,
//! which ends the event streams, and the server stops.

use igniter_store::adapter::Backend;

use igniter_store::{MemoryAdapter, RedisAdapter, StoreAdapter};
use igniter_store_examples::axum_service::{self, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => RedisAdapter::connect(&url).await?.into_backend(),
        Err(_) => MemoryAdapter::new().into_backend(),
    };
    let store = axum_service::store(adapter)?;
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 0,
    };
    let listener = axum_service::bind(port).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("listening on {url}");
    println!("  curl -N {url}/tenants/acme/events");
    println!(
        "  curl -i -X POST {url}/tenants/acme/orders -H 'content-type: application/json' \
         -H 'idempotency-key: k1' -d '{{\"item\":\"tea\",\"quantity\":2}}'"
    );
    println!("  curl -i {url}/tenants/acme/orders/ord_1");

    let router = axum_service::router(store.clone(), Config::default());
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        // Ends every subscription, so open event streams end and the
        // graceful shutdown does not wait for them for ever.
        let _ = store.close().await;
    };
    axum_service::serve(listener, router, shutdown).await?;
    println!("stopped");
    Ok(())
}
