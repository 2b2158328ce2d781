//! `events!` and `derive(StoreEvents)` with `pub` namespaces and private
//! payload types, as a binary crate writes them: no warning at all.
#![deny(warnings)]

use futures::StreamExt;
use igniter_store::{events, MemoryAdapter, Store, StoreEvents};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct UserCreated {
    id: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Charge {
    cents: u64,
}

events! {
    /// Events about users.
    pub user {
        /// A user signed up.
        created(UserCreated),
    }
}

// A derived namespace's visibility is the user's to write, as for any enum.
#[derive(StoreEvents, Debug)]
#[store(namespace = "billing")]
enum Billing {
    Charged(Charge),
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::builder()
            .adapter(MemoryAdapter::new())
            .service("api")
            .events(user::REGISTRY)
            .events(Billing::REGISTRY)
            .build()
            .unwrap();
        let mut sub = store.events().subscribe(&user::CREATED).await.unwrap();
        let mut all = store.events().subscribe_all::<Billing>().await.unwrap();
        store
            .events()
            .publish(&user::CREATED, &UserCreated { id: 1 })
            .await
            .unwrap();
        store
            .events()
            .publish(&Billing::CHARGED, &Charge { cents: 5 })
            .await
            .unwrap();
        let ev = sub.next().await.unwrap().unwrap();
        assert_eq!(ev.data, UserCreated { id: 1 });
        let Billing::Charged(charge) = &all.next().await.unwrap().unwrap().data;
        assert_eq!(charge.cents, 5);
    });
}
