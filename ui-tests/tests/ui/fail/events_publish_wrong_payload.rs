use igniter_store::{MemoryAdapter, Store, events};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct UserCreated {
    pub id: u64,
}

#[derive(Serialize, Deserialize)]
pub struct EmailSent {
    pub to: String,
}

events! {
    pub user {
        created(UserCreated),
        email_sent(EmailSent),
    }
}

async fn run() {
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .events(user::REGISTRY)
        .build()
        .unwrap();
    let _ = store
        .events()
        .publish(&user::CREATED, &EmailSent { to: "a@b.c".into() })
        .await;
}

fn main() {
    let _ = run();
}
