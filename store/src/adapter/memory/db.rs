//! The keyspace of [`MemoryAdapter`](super::MemoryAdapter): keys, values,
//! expiry on tokio's clock, and the type checks every command shares.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::streams::StreamData;
use crate::adapter::{KeyTtl, ceil_millis, parse_integer};
use crate::error::{ErrorCode, StoreError, StoreResult};

pub(super) struct Db {
    pub(super) map: BTreeMap<String, Entry>,
    /// Every key with a TTL, by deadline, so expired keys are reclaimed in
    /// order without a background task.
    pub(super) expiries: BTreeSet<(Instant, String)>,
    /// How many streams were ever created: each stream's identity, so a
    /// blocked read sees that its stream was deleted, even if recreated.
    pub(super) streams_created: u64,
    /// Notified when a stream gets an entry, is removed or overwritten, or its
    /// TTL changes: blocked reads then look again.
    pub(super) wake: Arc<Notify>,
}

pub(super) struct Entry {
    pub(super) value: Value,
    pub(super) expires_at: Option<Instant>,
}

pub(super) enum Value {
    Str(Bytes),
    Stream(StreamData),
}

pub(super) fn closed() -> StoreError {
    StoreError::new(ErrorCode::NotConnected, "the memory adapter is closed")
}

pub(super) fn wrong_type() -> StoreError {
    StoreError::new(
        ErrorCode::WrongType,
        "the key holds a value of another type",
    )
}

pub(super) fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 100))
}

impl Db {
    pub(super) fn new(wake: Arc<Notify>) -> Self {
        Db {
            map: BTreeMap::new(),
            expiries: BTreeSet::new(),
            streams_created: 0,
            wake,
        }
    }

    pub(super) fn reclaim(&mut self, now: Instant) {
        while let Some((at, _)) = self.expiries.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.expiries.pop_first() {
                let removed = self.map.remove(&key);
                if let Some(entry) = removed {
                    self.removed(&entry.value);
                }
            }
        }
    }

    pub(super) fn live(&self, key: &str) -> Option<&Entry> {
        self.map.get(key)
    }

    pub(super) fn set_expiry(&mut self, key: &str, at: Option<Instant>) {
        let Some(entry) = self.map.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        let stream = matches!(entry.value, Value::Stream(_));
        self.expiry_changed(key, stream, old, at);
    }

    /// Keeps `expiries` in step with a key whose deadline went from `old` to
    /// `at`.
    fn expiry_changed(
        &mut self,
        key: &str,
        stream: bool,
        old: Option<Instant>,
        at: Option<Instant>,
    ) {
        if stream {
            // A blocked read also waits for its stream's expiry.
            self.wake.notify_waiters();
        }
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.expiries.remove(&(old, key.to_owned()));
        }
        if let Some(at) = at {
            self.expiries.insert((at, key.to_owned()));
        }
    }

    /// Sets `key` to `value`, expiring at `expires_at` (`None`: never), in
    /// one lookup of the key.
    pub(super) fn insert(&mut self, key: &str, value: Value, expires_at: Option<Instant>) {
        self.replace(key, value, expires_at);
    }

    /// [`Db::insert`], handing back the value it replaced, so that the caller
    /// can free it after releasing the lock.
    pub(super) fn replace(
        &mut self,
        key: &str,
        value: Value,
        expires_at: Option<Instant>,
    ) -> Option<Value> {
        let stream = matches!(value, Value::Stream(_));
        match self.map.get_mut(key) {
            Some(entry) => {
                let old_value = std::mem::replace(&mut entry.value, value);
                let old_at = std::mem::replace(&mut entry.expires_at, expires_at);
                self.expiry_changed(key, stream, old_at, expires_at);
                self.removed(&old_value);
                Some(old_value)
            }
            None => {
                self.map.insert(key.to_owned(), Entry { value, expires_at });
                self.expiry_changed(key, stream, None, expires_at);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(entry) => {
                if let Some(at) = entry.expires_at {
                    self.expiries.remove(&(at, key.to_owned()));
                }
                self.removed(&entry.value);
                true
            }
            None => false,
        }
    }

    /// A value left the keyspace: a read blocked on it must fail, as in Redis
    /// ("UNBLOCKED the stream key no longer exists").
    fn removed(&self, value: &Value) {
        if let Value::Stream(_) = value {
            self.wake.notify_waiters();
        }
    }

    pub(super) fn string(&self, key: &str) -> StoreResult<Option<&Bytes>> {
        match self.live(key) {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(b),
                ..
            }) => Ok(Some(b)),
            Some(_) => Err(wrong_type()),
        }
    }

    pub(super) fn integer(&self, key: &str) -> StoreResult<Option<i64>> {
        match self.string(key)? {
            None => Ok(None),
            Some(bytes) => parse_integer(bytes).map(Some),
        }
    }
}

/// The literal start of a glob pattern: every key it matches begins with it.
pub(super) fn literal_prefix(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => break,
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

pub(super) fn ttl_of(entry: &Entry, now: Instant) -> KeyTtl {
    match entry.expires_at {
        None => KeyTtl::Persistent,
        // Whole milliseconds, as PTTL answers, rounded up so that a live key
        // never reports zero.
        Some(at) => KeyTtl::Expires(Duration::from_millis(ceil_millis(
            at.saturating_duration_since(now),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix(r"a:b\*c*d"), "a:b*c");
        assert_eq!(literal_prefix("abc"), "abc");
        assert_eq!(literal_prefix(r"\ü*"), "ü");
        assert_eq!(literal_prefix("[a]"), "");
    }
}
