// A channel names a stream of its own payload type only: reading it as
// another type does not compile (a plain name would take any type).
use igniter_store::{MemoryAdapter, Store, events};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Resize {
    pub width: u32,
}

#[derive(Serialize, Deserialize)]
pub struct EmailSent {
    pub to: String,
}

events! {
    pub jobs {
        resize(Resize),
    }
}

async fn run() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .build()
        .unwrap();
    let group = store.streams().group("resizers", "worker-1");
    let _ = group.read::<EmailSent>(&jobs::RESIZE).await;
}

fn main() {
    let _ = run();
}
