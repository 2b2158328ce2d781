//! Deadlines: every operation of the store ends within its deadline
//! (`STORE_TIMEOUT`), with a timer armed only when the operation waits.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Sleep;

use super::Core;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::serializer::Serializer;

impl<Z: Serializer> Core<Z> {
    /// Runs `body` within the store's deadline.
    ///
    /// Bodies are pinned by the caller and passed by reference, so that a
    /// body is never moved (copied) from one future into the next.
    pub(crate) fn run<T, F>(&self, body: Pin<&mut F>) -> impl Future<Output = StoreResult<T>>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        within(self.shared.timeout, body, true)
    }

    /// Runs `body` within the store's deadline extended by `extra` (a
    /// blocking read's block time).
    pub(crate) fn run_extended<T, F>(
        &self,
        extra: Duration,
        body: Pin<&mut F>,
    ) -> impl Future<Output = StoreResult<T>>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        let limit = self.shared.timeout.map(|limit| limit.saturating_add(extra));
        within(limit, body, false)
    }

    /// Runs `body` without the store's overall deadline, for operations made
    /// of many steps (purge), each of which is bounded by [`Core::run`].
    pub(crate) fn run_unbounded<'b, T, F>(&self, body: Pin<&'b mut F>) -> Pin<&'b mut F>
    where
        F: Future<Output = StoreResult<T>> + ?Sized,
    {
        body
    }
}

fn timeout_error() -> StoreError {
    StoreError::new(
        ErrorCode::Timeout,
        "the operation did not finish within the store's deadline",
    )
}

/// Runs `body`, failing with `STORE_TIMEOUT` once `limit` has passed since
/// it first had to wait (`None`: no limit). With `detail`, the error says the
/// limit (`details.timeoutMs`).
///
/// The timer is armed only when `body` returns `Pending`: an operation that
/// completes on its first poll never touches tokio's timer wheel, where
/// `tokio::time::timeout` would read the clock and register a timer for each
/// one.
async fn within<T, F>(
    limit: Option<Duration>,
    mut body: Pin<&mut F>,
    detail: bool,
) -> StoreResult<T>
where
    F: Future<Output = StoreResult<T>> + ?Sized,
{
    let Some(limit) = limit else {
        return body.await;
    };
    let mut sleep: Pin<&mut Option<Sleep>> = pin!(None);
    poll_fn(|cx| {
        if let Poll::Ready(result) = body.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if sleep.is_none() {
            sleep.set(Some(tokio::time::sleep(limit)));
        }
        match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
            Some(Poll::Ready(())) => {
                let error = timeout_error();
                Poll::Ready(Err(if detail {
                    error.with_detail(
                        "timeoutMs",
                        u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                    )
                } else {
                    error
                }))
            }
            _ => Poll::Pending,
        }
    })
    .await
}
