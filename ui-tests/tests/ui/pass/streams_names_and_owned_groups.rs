// Payload-free operations take any stream name without a type; typed ones
// take the payload type as their only generic argument; a group owns what it
// needs and moves into a task.
use igniter_store::{MemoryAdapter, Store, StoreError, events};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: u32,
}

events! {
    pub jobs {
        resize(Job),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .build()?;
    let streams = store.streams();
    streams.append(&jobs::RESIZE, &Job { id: 1 }).await?;
    streams.append("jobs", &Job { id: 2 }).await?;
    let name = String::from("jobs");
    assert_eq!(streams.len(&name).await?, 1);
    assert_eq!(streams.len(&jobs::RESIZE).await?, 1);
    assert!(streams.key("jobs")?.ends_with(":streams:jobs"));
    assert_eq!(
        streams.range::<Job>(&name).await?[0].data.as_ref().ok(),
        Some(&Job { id: 2 })
    );

    let consumer = String::from("worker-1");
    let group = streams.group("workers", &consumer);
    group.ensure("jobs").await?;
    let task = tokio::spawn({
        let group = group.clone();
        async move {
            let entries = group.read::<Job>("jobs").await?;
            let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
            group.ack("jobs", &ids).await
        }
    });
    assert_eq!(task.await.unwrap()?, 1);
    assert_eq!(group.pending("jobs").await?.count, 0);
    assert!(group.pending_entries(&name).await?.is_empty());
    assert_eq!(group.remove_consumer("jobs").await?, 0);
    let _ = streams.trim("jobs", 0, false).await?;
    Ok(())
}
