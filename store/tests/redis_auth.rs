//! Redis servers with an ACL user and with TLS, both started by the test.

mod support;

use igniter_store::{ErrorCode, RedisAdapter, Store};

async fn round_trip(adapter: RedisAdapter) {
    let store: Store = Store::builder()
        .adapter(adapter)
        .service("auth")
        .build()
        .unwrap();
    store.kv().set("k", &"v").await.unwrap();
    assert_eq!(
        store.kv().get::<String>("k").await.unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(store.counter().increment("c").await.unwrap(), 1);
}

#[tokio::test]
async fn acl_user_with_password() {
    if support::skip_redis() {
        return;
    }
    let server = support::RedisServer::builder()
        .password("alice", "s3cret")
        .start();
    assert!(server.url().contains("alice"), "{}", server.url());
    round_trip(RedisAdapter::connect(&server.url()).await.unwrap()).await;

    let wrong = format!("redis://alice:nope@127.0.0.1:{}/", server.port());
    let err = RedisAdapter::connect(&wrong).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConnectionFailed);
    let anonymous = format!("redis://127.0.0.1:{}/", server.port());
    let result = RedisAdapter::connect(&anonymous).await;
    match result {
        Err(err) => assert_eq!(err.code(), ErrorCode::ConnectionFailed),
        // Connecting may succeed lazily; the first command must then fail.
        Ok(adapter) => {
            let store: Store = Store::builder()
                .adapter(adapter)
                .service("auth")
                .build()
                .unwrap();
            assert!(store.kv().get::<String>("k").await.is_err());
        }
    }
}

/// The payload of `pings::PING`.
#[cfg(feature = "tls")]
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ping {
    n: u32,
}

#[cfg(feature = "tls")]
igniter_store::events! { pub pings { ping(Ping) } }

#[cfg(feature = "tls")]
#[tokio::test]
async fn tls_with_the_test_ca() {
    use futures::StreamExt;
    if support::skip_redis() {
        return;
    }
    let server = support::RedisServer::builder().tls().start();
    assert!(server.url().starts_with("rediss://"), "{}", server.url());
    let ca = std::fs::read(server.ca_cert_path()).unwrap();
    let adapter = RedisAdapter::builder(&server.url())
        .root_certificate(ca)
        .connect()
        .await
        .unwrap();
    let store: Store = Store::builder()
        .adapter(adapter.clone())
        .service("tls")
        .build()
        .unwrap();
    round_trip(adapter).await;

    // pub/sub goes over TLS too
    let mut sub = store.events().subscribe(&pings::PING).await.unwrap();
    store
        .events()
        .publish(&pings::PING, &Ping { n: 7 })
        .await
        .unwrap();
    let ev = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.data.n, 7);

    // without the CA the server's certificate is not trusted
    let untrusted = RedisAdapter::connect(&server.url()).await;
    assert_eq!(untrusted.unwrap_err().code(), ErrorCode::ConnectionFailed);
}
