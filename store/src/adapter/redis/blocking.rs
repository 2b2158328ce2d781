//! Connections for blocking stream reads, one pool for both topologies.
//!
//! A blocked `XREADGROUP` holds its connection for the whole block, so it
//! never runs on the shared command connection: it takes an idle connection
//! of its own from here, or opens one, and gives it back when it is done.
//!
//! Two faults shape this pool:
//!
//! - After the server restarts, every idle connection is dead. The first read
//!   that finds its pooled connection dead empties the pool and runs on a new
//!   connection at once, so a short read (`block(50 ms)`) does not spend its
//!   whole block time failing on dead connections one by one.
//! - [`close`](BlockingPool::close) ends every read still blocked: it is
//!   answered `STORE_NOT_CONNECTED` and its connection dropped, which closes
//!   the socket (the `redis` crate ends a connection's task with its last
//!   handle), so nothing of the store is left on the server.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::error::{ErrorCode, StoreError, StoreResult};

/// The idle connections of one adapter for blocking reads, and its closed
/// flag.
pub(crate) struct BlockingPool<C> {
    idle: Mutex<Vec<C>>,
    /// How many idle connections are kept.
    capacity: usize,
    closed: watch::Sender<bool>,
}

impl<C> BlockingPool<C> {
    pub(crate) fn new(capacity: usize) -> Self {
        BlockingPool {
            idle: Mutex::new(Vec::new()),
            capacity,
            closed: watch::Sender::new(false),
        }
    }

    /// Runs `read` on a connection of the pool (or a new one from `connect`)
    /// and keeps the connection for the next read unless it failed; ends at
    /// once with `STORE_NOT_CONNECTED` when the pool is closed meanwhile.
    /// `read` hands the connection back with its result.
    pub(crate) async fn run<T, Con, ConFut, Read, ReadFut>(
        &self,
        connect: Con,
        read: Read,
    ) -> StoreResult<T>
    where
        Con: Fn() -> ConFut,
        ConFut: Future<Output = StoreResult<C>>,
        Read: Fn(C) -> ReadFut,
        ReadFut: Future<Output = (C, StoreResult<T>)>,
    {
        let mut closed = self.closed.subscribe();
        let work = async {
            if let Some(con) = self.take() {
                match read(con).await {
                    // The server went away since this connection was last
                    // used, so every idle one is dead too: drop them all,
                    // and read on a new connection.
                    (_, Err(e)) if e.code() == ErrorCode::ConnectionFailed => self.clear(),
                    (con, result) => {
                        self.put(con);
                        return result;
                    }
                }
            }
            let (con, result) = read(connect().await?).await;
            if !matches!(&result, Err(e) if e.code() == ErrorCode::ConnectionFailed) {
                self.put(con);
            }
            result
        };
        tokio::select! {
            biased;
            _ = closed.wait_for(|closed| *closed) => Err(closed_error()),
            result = work => result,
        }
    }

    /// Ends every read in flight and drops the idle connections; later reads
    /// fail with `STORE_NOT_CONNECTED`.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
        self.clear();
    }

    fn take(&self) -> Option<C> {
        self.lock().pop()
    }

    fn put(&self, con: C) {
        let mut idle = self.lock();
        if idle.len() < self.capacity && !*self.closed.borrow() {
            idle.push(con);
        }
    }

    fn clear(&self) {
        // Dropped outside the lock: dropping a connection ends its task.
        let idle = std::mem::take(&mut *self.lock());
        drop(idle);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<C>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn closed_error() -> StoreError {
    StoreError::new(
        ErrorCode::NotConnected,
        "the adapter was closed while the read waited",
    )
}
