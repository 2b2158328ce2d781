// A stream entry's payload is `data`, like an event's: the field `message`
// is gone, and the error suggests the deprecated method of that name, whose
// warning says `data`.
use igniter_store::{MemoryAdapter, Store};

async fn run() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .build()
        .unwrap();
    let entries = store.streams().range::<u32>("jobs").await.unwrap();
    for entry in entries {
        let _: Result<u32, _> = entry.message;
    }
}

fn main() {
    let _ = run();
}
