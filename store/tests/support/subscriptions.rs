//! What the fault tests ask of a subscription: that it receives again after
//! a fault, and how many gap errors it yielded before.

use std::time::{Duration, Instant};

use futures::StreamExt;
use igniter_store::ErrorCode;
use igniter_store::events::Subscription;

/// Calls `publish(n)` with growing `n` until `sub` yields an event (at most
/// `within`; panics past it): the subscription is alive. Returns how many
/// gap errors (`STORE_CONNECTION_FAILED`) it yielded first; any other error
/// fails the test. Never subscribes anew.
pub async fn receives_again<T>(
    sub: &mut Subscription<T>,
    within: Duration,
    publish: impl AsyncFn(u64),
) -> usize {
    let until = Instant::now() + within;
    let mut gaps = 0;
    let mut n = 1_000_000;
    while Instant::now() < until {
        n += 1;
        publish(n).await;
        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            Ok(Some(Ok(_))) => return gaps,
            Ok(Some(Err(e))) => {
                assert_eq!(e.code(), ErrorCode::ConnectionFailed, "{e}");
                gaps += 1;
            }
            Ok(None) => panic!("the subscription ended"),
            Err(_) => {}
        }
    }
    panic!("no event within {within:?}");
}

/// Takes what `sub` holds already, so that the next item is news.
pub async fn drain<T>(sub: &mut Subscription<T>) {
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await {
        item.expect("only events before the fault");
    }
}
