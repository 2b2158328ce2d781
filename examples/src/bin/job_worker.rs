//! A job queue on a stream: a producer appends jobs, two workers of one
//! consumer group share them, a poison job ends up in a dead-letter stream.
//!
//! ```text
//! cargo run -p igniter-store-examples --bin job_worker
//! IGNITER_STORE_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p igniter-store-examples --bin job_worker
//! ```

use igniter_store::adapter::Backend;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use igniter_store::{
    MemoryAdapter, RedisAdapter, Store, StoreAdapter, StoreError, StoreScopes, events,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
}

/// A thumbnail to render.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resize {
    image: String,
    width: u32,
}

events! {
    /// The job queues.
    pub jobs {
        /// Images to resize.
        resize(Resize),
    }
}

const JOBS: usize = 20;

/// How long one job takes.
const WORK: Duration = Duration::from_millis(20);

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let adapter: Backend = match std::env::var("IGNITER_STORE_REDIS_URL") {
        Ok(url) => RedisAdapter::connect(&url).await?.into_backend(),
        Err(_) => MemoryAdapter::new().into_backend(),
    };
    let store = Store::builder()
        .shared_adapter(adapter)
        .service("job-worker-example")
        .scopes::<Tenant>()
        .build()?;
    let org = store.scope(tenant::Organization, "acme")?;
    // Leftovers of an interrupted run on a shared Redis.
    org.purge().await?;

    // The producer: typed appends, checked by the compiler against the
    // channel's payload type.
    for i in 0..JOBS {
        let job = Resize {
            image: format!("img-{i}.png"),
            width: 128,
        };
        org.streams().append(&jobs::RESIZE, &job).await?;
    }
    // A job another service wrote badly: it does not decode.
    let key = org.streams().key(&jobs::RESIZE)?;
    org.adapter().xadd(&key, "{not json".into(), None).await?;
    println!("producer  appended {JOBS} jobs and one poison entry");

    // Two workers of one group share the jobs. Each takes at most two entries
    // per read and spends a while on each job, so neither can take the whole
    // queue while the other waits: both start together (the barrier), and
    // while one works on its two jobs the other reads the next ones. Each
    // acknowledges what it handled; the poison entry is never acknowledged,
    // comes back after the idle time, and after three deliveries moves to
    // `jobs:resize:dead`.
    let start = Arc::new(Barrier::new(2));
    let mut workers = Vec::new();
    let mut handles = Vec::new();
    for name in ["worker-a", "worker-b"] {
        // A group owns what it needs: it moves into the task.
        let group = org.streams().group("resizers", name);
        let handled = Arc::new(AtomicUsize::new(0));
        workers.push((name, handled.clone()));
        let start = start.clone();
        handles.push(tokio::spawn(async move {
            let mut worker = group
                .worker(&jobs::RESIZE)
                .count(2)
                .block(Duration::from_millis(100))
                .reclaim_idle(Duration::from_millis(200))
                .dead_letter(3, "jobs:resize:dead")
                .start();
            start.wait().await;
            while let Some(delivery) = worker.next().await {
                let Ok(delivery) = delivery else { continue };
                match &delivery.data {
                    Ok(job) => {
                        // The work: resizing takes a while.
                        tokio::time::sleep(WORK).await;
                        println!("{name}  resized {} to {}px", job.image, job.width);
                        delivery.ack().await.ok();
                        handled.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => println!(
                        "{name}  entry {} does not decode ({}), delivery {}",
                        delivery.id,
                        e.code(),
                        delivery.deliveries
                    ),
                }
            }
        }));
    }
    let done = || -> usize { workers.iter().map(|(_, n)| n.load(Ordering::SeqCst)).sum() };

    // Wait until every job is done and the poison entry is dead-lettered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while done() < JOBS || org.streams().len("jobs:resize:dead").await? == 0 {
        if tokio::time::Instant::now() > deadline {
            eprintln!("timed out");
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for handle in &handles {
        handle.abort();
    }
    let counts: Vec<String> = workers
        .iter()
        .map(|(name, n)| format!("{name} handled {}", n.load(Ordering::SeqCst)))
        .collect();
    println!("workers   {}", counts.join(", "));
    let dead = org.streams().range::<Resize>("jobs:resize:dead").await?;
    let pending = org
        .streams()
        .group("resizers", "worker-a")
        .pending(&jobs::RESIZE)
        .await?;
    println!(
        "done      {} jobs handled, {} entry dead-lettered, {} pending",
        done(),
        dead.len(),
        pending.count
    );
    org.purge().await?;
    Ok(())
}
