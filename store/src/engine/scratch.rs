//! Buffers of the thread, reused from one operation to the next: the full
//! key of an operation and the encoding of its value are built without an
//! allocation once they are warm.

use std::cell::RefCell;

use super::Core;
use crate::error::StoreResult;
use crate::key::Namespace;
use crate::serializer::Serializer;

impl<Z: Serializer> Core<Z> {
    /// Runs `f` on `value` encoded by the store's serializer (within
    /// `max_value_size`) in a buffer of the thread that is reused: for a
    /// value copied before `f` returns, such as into a Redis command.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn with_encoded<T: serde::Serialize + ?Sized, R>(
        &self,
        value: &T,
        f: impl FnOnce(&[u8]) -> R,
    ) -> StoreResult<R> {
        thread_local! {
            static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let encode = |buffer: &mut Vec<u8>| {
            self.shared.serializer.encode_into(value, buffer)?;
            self.check_size(buffer.len())?;
            Ok(f(buffer))
        };
        // A value's `Serialize` impl that encodes through this store, or a
        // thread whose locals are being destroyed, gets a buffer of its own.
        let Some(mut buffer) = SCRATCH
            .try_with(|scratch| {
                scratch
                    .try_borrow_mut()
                    .ok()
                    .map(|mut b| std::mem::take(&mut *b))
            })
            .ok()
            .flatten()
        else {
            return encode(&mut Vec::new());
        };
        buffer.clear();
        let result = encode(&mut buffer);
        if buffer.capacity() <= SCRATCH_CAPACITY {
            let _ = SCRATCH.try_with(|scratch| {
                if let Ok(mut slot) = scratch.try_borrow_mut() {
                    *slot = buffer;
                }
            });
        }
        result
    }

    /// [`Core::key`] in a string taken from a pool of the thread (and given
    /// back when dropped), so that building the keys of operations does not
    /// allocate once the pool is warm.
    pub(crate) fn pooled_key(&self, ns: Namespace, key: &str) -> StoreResult<PooledKey> {
        self.check(key)?;
        let mut full = PooledKey::take();
        self.chain.space.push_key(ns, key, &mut full.0);
        Ok(full)
    }

    /// Runs `f` on the full key of `key` in `ns` (after the checks of
    /// [`Core::check`]), built in a buffer of the thread that is reused from
    /// one call to the next: for commands that complete before `f` returns.
    pub(crate) fn with_key<R>(
        &self,
        ns: Namespace,
        key: &str,
        f: impl FnOnce(&str) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.check(key)?;
        self.with_checked_key(ns, key, f)
    }

    /// Runs `f` on the full key of `key` in `ns` (checked already), built
    /// in a buffer of the thread that is reused from one call to the next:
    /// for commands that complete before `f` returns.
    pub(crate) fn with_checked_key<R>(
        &self,
        ns: Namespace,
        key: &str,
        f: impl FnOnce(&str) -> StoreResult<R>,
    ) -> StoreResult<R> {
        thread_local! {
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        // The buffer stays borrowed while `f` runs: an `f` that builds a key
        // itself, or a thread whose locals are being destroyed, gets a new
        // string.
        let mut f = Some(f);
        let in_buffer = KEY.try_with(|buffer| {
            let mut full = buffer.try_borrow_mut().ok()?;
            full.clear();
            self.chain.space.push_key(ns, key, &mut full);
            let result = (f.take()?)(&full);
            if full.capacity() > POOLED_KEY_CAPACITY {
                *full = String::new();
            }
            Some(result)
        });
        match (in_buffer, f) {
            (Ok(Some(result)), _) => result,
            (_, Some(f)) => f(&self.chain.space.key(ns, key)),
            // `f` ran, yet gave no result back: cannot happen, but is no
            // reason to panic.
            (_, None) => Err(crate::error::StoreError::new(
                crate::error::ErrorCode::OperationFailed,
                "the operation's key was not built",
            )),
        }
    }
}

thread_local! {
    /// Key strings given back by [`PooledKey`]s dropped on this thread.
    static KEY_POOL: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer [`Core::with_encoded`] keeps per thread.
const SCRATCH_CAPACITY: usize = 64 * 1024;

/// How many strings [`KEY_POOL`] keeps per thread.
const POOLED_KEYS: usize = 64;
/// The largest string capacity [`KEY_POOL`] keeps.
const POOLED_KEY_CAPACITY: usize = 512;

/// A full key in a string of the thread's pool; see [`Core::pooled_key`].
pub(crate) struct PooledKey(String);

impl PooledKey {
    fn take() -> PooledKey {
        let pooled = KEY_POOL
            .try_with(|pool| pool.try_borrow_mut().ok().and_then(|mut pool| pool.pop()))
            .ok()
            .flatten();
        PooledKey(pooled.unwrap_or_default())
    }
}

impl std::ops::Deref for PooledKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for PooledKey {
    fn drop(&mut self) {
        let mut full = std::mem::take(&mut self.0);
        if full.capacity() == 0 || full.capacity() > POOLED_KEY_CAPACITY {
            return;
        }
        full.clear();
        let _ = KEY_POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut()
                && pool.len() < POOLED_KEYS
            {
                pool.push(full);
            }
        });
    }
}
