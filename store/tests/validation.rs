//! Validation of event payloads beyond their type (feature `garde`).
#![cfg(feature = "garde")]

use std::time::Duration;

use futures::StreamExt;
use igniter_store::{ErrorCode, MemoryAdapter, Store};

#[derive(Debug, serde::Serialize, serde::Deserialize, garde::Validate)]
pub struct Signup {
    #[garde(length(min = 3, max = 20))]
    name: String,
    #[garde(range(min = 18))]
    age: u8,
}

igniter_store::events! {
    pub accounts {
        signup(Signup),
    }
}

fn store() -> Store {
    Store::builder()
        .adapter(MemoryAdapter::new())
        .service("svc")
        .build()
        .unwrap()
}

#[tokio::test]
async fn invalid_payload_is_refused_before_anything_is_sent() {
    let store = store();
    let mut sub = store.events().subscribe(&accounts::SIGNUP).await.unwrap();
    let bad = Signup {
        name: "x".into(),
        age: 9,
    };
    let err = store
        .events()
        .publish_validated(&accounts::SIGNUP, &bad)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SchemaValidationFailed);
    let violations = err.details().unwrap()["violations"].as_array().unwrap();
    let paths: Vec<&str> = violations
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["age", "name"]);
    // nothing was sent
    assert!(
        tokio::time::timeout(Duration::from_millis(100), sub.next())
            .await
            .is_err()
    );
    let good = Signup {
        name: "ada".into(),
        age: 36,
    };
    assert_eq!(
        store
            .events()
            .publish_validated(&accounts::SIGNUP, &good)
            .await
            .unwrap(),
        1
    );
    assert_eq!(sub.next().await.unwrap().unwrap().data.name, "ada");
}

#[tokio::test]
async fn invalid_received_payload_is_an_error_item_and_the_stream_goes_on() {
    let store = store();
    let mut sub = store
        .events()
        .subscribe(&accounts::SIGNUP)
        .await
        .unwrap()
        .validated();
    // published without validation, as another service might
    store
        .events()
        .publish(
            &accounts::SIGNUP,
            &Signup {
                name: "x".into(),
                age: 30,
            },
        )
        .await
        .unwrap();
    store
        .events()
        .publish(
            &accounts::SIGNUP,
            &Signup {
                name: "grace".into(),
                age: 40,
            },
        )
        .await
        .unwrap();
    let err = sub.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::SchemaValidationFailed);
    assert_eq!(sub.next().await.unwrap().unwrap().data.name, "grace");
}
