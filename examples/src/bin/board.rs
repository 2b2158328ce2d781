//! A job queue with its board: emails queued per tenant, a worker per
//! tenant, dead letters, and `igniter-store-board` mounted per tenant; see
//! `src/board.rs` for the routes and how each works.
//!
//! ```text
//! cargo run -p igniter-store-examples --bin board
//! PORT=3000 IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin board
//! ```
//!
//! It listens on `127.0.0.1:$PORT` (a free port when `PORT` is unset),
//! starts the workers of the tenants `acme` and `globex`, and prints the
//! address, the boards' URLs and `curl` commands. Ctrl-C closes the store,
//! which ends the workers and the live tails, and the server stops.

use igniter_store::adapter::Backend;
use igniter_store::{MemoryAdapter, RedisAdapter, StoreAdapter};
use igniter_store_examples::axum_service::{bind, serve};
use igniter_store_examples::board::{self, tenant};

/// The tenants whose queues have a worker.
const TENANTS: [&str; 2] = ["acme", "globex"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => RedisAdapter::connect(&url).await?.into_backend(),
        Err(_) => MemoryAdapter::new().into_backend(),
    };
    let store = board::store(adapter)?;
    for id in TENANTS {
        board::spawn_worker(store.scope(tenant::Organization, id)?, "mailer-1");
    }
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 0,
    };
    let listener = bind(port).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("listening on {url}");
    for id in TENANTS {
        println!("  board of {id}: {url}/tenants/{id}/board");
    }
    println!(
        "  curl -i -X POST {url}/tenants/acme/emails -H 'content-type: application/json' \
         -d '{{\"to\":\"ada@example.com\",\"subject\":\"welcome\",\"fail_first\":2}}'"
    );

    let router = board::router(store.clone());
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        // Ends the workers and every live tail, so the graceful shutdown
        // does not wait for them for ever.
        let _ = store.close().await;
    };
    serve(listener, router, shutdown).await?;
    println!("stopped");
    Ok(())
}
