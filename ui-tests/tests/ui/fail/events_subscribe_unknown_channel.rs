use igniter_store::{MemoryAdapter, Store, events};

events! {
    pub user {
        created(u64),
    }
}

async fn run() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .events(user::REGISTRY)
        .build()
        .unwrap();
    let _ = store.events().subscribe(&user::NOPE).await;
}

fn main() {
    let _ = run();
}
