//! The keyspace of [`MemoryAdapter`](super::MemoryAdapter): keys, values,
//! expiry on tokio's clock, and the type checks every command shares.
//!
//! Expiry works as in Redis: lazily, an expired key is absent for every
//! lookup from its deadline on, whether or not its memory was reclaimed yet;
//! actively, every operation reclaims at most [`RECLAIM_PER_OPERATION`]
//! expired keys, oldest deadline first, and every new key one more. So when
//! many keys expire together, no single operation pays for all of them under
//! the adapter's one lock. The map and the expiry index are private to this
//! file: every lookup goes through [`Db::live`], [`Db::live_mut`] or
//! [`Db::live_keys`], which take the operation's [`Now`], so no command can
//! see an expired key.
//!
//! Keys are held twice, sharing one allocation: in a hash map, for the
//! lookup every command makes (one hash of the key, one comparison), and in
//! an ordered set, for scans, which read the range of a pattern's literal
//! prefix and so follow a tenant's size rather than the keyspace's. A
//! B-tree alone answered both, but compared the key at every level, and
//! keys of one store share a long prefix (`igniter:store:<service>:...`).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hashbrown::HashMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::streams::StreamData;
use crate::adapter::{KeyTtl, ceil_millis, parse_integer};
use crate::error::{ErrorCode, StoreError, StoreResult};

/// How many expired keys one operation reclaims at most (besides one per key
/// it creates). Reclaiming a key is a hash-map and two B-tree removals and
/// the frees of its key and value, about 0.3–1 µs with 500k keys in the map, so 64 keep an
/// operation within tens of microseconds (far under the 1 ms a caller may
/// notice) while 500k keys expiring together are reclaimed within about 8k
/// operations. Redis's active expiry, which samples 20 keys per loop, does
/// comparable work per step; here every key reclaimed is expired, since the
/// index is ordered by deadline.
pub(super) const RECLAIM_PER_OPERATION: usize = 64;

pub(super) struct Db {
    /// Every key, live or expired but not yet reclaimed: read it only through
    /// the lookups that take a [`Now`]. Hashed with foldhash (hashbrown's
    /// default), randomly seeded.
    map: HashMap<Arc<str>, Entry>,
    /// The keys of `map`, in order, for [`Db::live_keys`].
    order: BTreeSet<Arc<str>>,
    /// Every key with a TTL, by deadline, so expired keys are reclaimed in
    /// order without a background task.
    expiries: BTreeSet<(Instant, String)>,
    /// How many streams were ever created: each stream's identity, so a
    /// blocked read sees that its stream was deleted, even if recreated.
    pub(super) streams_created: u64,
    /// Notified when a stream gets an entry, is removed or overwritten, or its
    /// TTL changes: blocked reads then look again.
    pub(super) wake: Arc<Notify>,
}

/// The moment an operation looks at the keyspace, against which every
/// lookup decides whether a key has expired.
///
/// Without an instant when no key had a TTL as the operation began: then no
/// key can be expired (a key given a TTL during the operation expires at
/// least a millisecond later), and the clock need not be read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Now(Option<Instant>);

impl Now {
    /// At `now`.
    pub(super) fn at(now: Instant) -> Self {
        Now(Some(now))
    }

    /// Whether a key with deadline `at` has expired: from its deadline on,
    /// the instant included.
    fn passed(self, at: Option<Instant>) -> bool {
        matches!((self.0, at), (Some(now), Some(at)) if at <= now)
    }
}

/// The keys [`Db::clear`] removed, freed when dropped.
pub(super) struct Cleared {
    _map: HashMap<Arc<str>, Entry>,
    _order: BTreeSet<Arc<str>>,
    _expiries: BTreeSet<(Instant, String)>,
}

pub(super) struct Entry {
    pub(super) value: Value,
    pub(super) expires_at: Option<Instant>,
}

pub(super) enum Value {
    Str(Bytes),
    /// Boxed: a stream's state is three times a string's, and every entry
    /// of the map would otherwise be as large, and be moved as a whole.
    Stream(Box<StreamData>),
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
            map: HashMap::new(),
            order: BTreeSet::new(),
            expiries: BTreeSet::new(),
            streams_created: 0,
            wake,
        }
    }

    /// Begins an operation: reclaims up to [`RECLAIM_PER_OPERATION`] expired
    /// keys and answers the operation's [`Now`]. `clock` is read only when
    /// some key has a TTL, so a store without TTLs never reads it.
    #[inline]
    pub(super) fn begin(&mut self, clock: impl FnOnce() -> Instant) -> Now {
        if self.expiries.is_empty() {
            return Now(None);
        }
        let now = Now::at(clock());
        self.reclaim(now, RECLAIM_PER_OPERATION);
        now
    }

    /// Removes up to `budget` expired keys, earliest deadline first; how many.
    fn reclaim(&mut self, now: Now, budget: usize) -> usize {
        let mut reclaimed = 0;
        while reclaimed < budget {
            match self.expiries.first() {
                Some((at, _)) if now.passed(Some(*at)) => {}
                _ => break,
            }
            let Some((_, key)) = self.expiries.pop_first() else {
                break;
            };
            if let Some((key, entry)) = self.map.remove_entry(key.as_str()) {
                self.order.remove(&key);
                self.removed(&entry.value);
            }
            reclaimed += 1;
        }
        reclaimed
    }

    /// The entry of `key`, unless it is missing or expired at `now`.
    #[inline]
    pub(super) fn live(&self, key: &str, now: Now) -> Option<&Entry> {
        self.map.get(key).filter(|e| !now.passed(e.expires_at))
    }

    /// [`Db::live`], to change the entry's value in place. Its expiry changes
    /// through [`Db::set_expiry`] only, which keeps the index in step.
    pub(super) fn live_mut(&mut self, key: &str, now: Now) -> Option<&mut Entry> {
        self.map.get_mut(key).filter(|e| !now.passed(e.expires_at))
    }

    /// The keys from `start` on, in order, each with whether it is live at
    /// `now`. Expired keys are listed (as not live) rather than skipped, so
    /// that a caller bounding its work by keys examined (SCAN's COUNT) is not
    /// made to walk a long run of expired keys in one call.
    pub(super) fn live_keys(
        &self,
        start: Bound<&str>,
        now: Now,
    ) -> impl Iterator<Item = (&str, bool)> {
        self.order
            .range::<str, _>((start, Bound::Unbounded))
            .map(move |key| {
                // A key of the set is always in the map; were it not, it
                // would not be live.
                let live = self
                    .map
                    .get(&**key)
                    .is_some_and(|e| !now.passed(e.expires_at));
                (&**key, live)
            })
    }

    /// How many keys are live at `now`. Counts the expired keys not yet
    /// reclaimed (a walk of the expiry index up to `now`, no frees).
    pub(super) fn live_len(&self, now: Now) -> usize {
        let expired = self
            .expiries
            .iter()
            .take_while(|(at, _)| now.passed(Some(*at)))
            .count();
        self.map.len().saturating_sub(expired)
    }

    /// How many keys are stored, expired or not, and how many have a TTL: for
    /// tests of reclamation.
    #[cfg(test)]
    pub(super) fn stored(&self) -> (usize, usize) {
        (self.map.len(), self.expiries.len())
    }

    /// Whether `key` is in the map, expired or not: for tests of reclamation.
    #[cfg(test)]
    pub(super) fn is_stored(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Removes every key; hands them back, so that the caller can free them
    /// after releasing the lock.
    pub(super) fn clear(&mut self) -> Cleared {
        self.wake.notify_waiters();
        Cleared {
            _map: std::mem::take(&mut self.map),
            _order: std::mem::take(&mut self.order),
            _expiries: std::mem::take(&mut self.expiries),
        }
    }

    /// Sets the deadline of the live `key` (`None`: never expires); does
    /// nothing when it is missing or expired.
    pub(super) fn set_expiry(&mut self, key: &str, at: Option<Instant>, now: Now) {
        let Some(entry) = self.live_mut(key, now) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        let stream = matches!(entry.value, Value::Stream(_));
        self.expiry_changed(key, stream, old, at);
    }

    /// Keeps `expiries` in step with a key whose deadline went from `old` to
    /// `at`.
    #[inline]
    fn expiry_changed(
        &mut self,
        key: &str,
        stream: bool,
        old: Option<Instant>,
        at: Option<Instant>,
    ) {
        // Most writes: a string without a TTL, before and after.
        if !stream && old.is_none() && at.is_none() {
            return;
        }
        self.expiry_index_changed(key, stream, old, at);
    }

    fn expiry_index_changed(
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
    pub(super) fn insert(
        &mut self,
        key: &str,
        value: Value,
        expires_at: Option<Instant>,
        now: Now,
    ) {
        self.replace(key, value, expires_at, now);
    }

    /// [`Db::insert`], handing back the value it replaced (live or expired),
    /// so that the caller can free it after releasing the lock.
    #[inline]
    pub(super) fn replace(
        &mut self,
        key: &str,
        value: Value,
        expires_at: Option<Instant>,
        now: Now,
    ) -> Option<Value> {
        let stream = matches!(value, Value::Stream(_));
        match self.map.get_mut(key) {
            Some(entry) => {
                // Live or expired alike: the key gets a new value and deadline.
                let old_value = std::mem::replace(&mut entry.value, value);
                let old_at = std::mem::replace(&mut entry.expires_at, expires_at);
                self.expiry_changed(key, stream, old_at, expires_at);
                self.removed(&old_value);
                Some(old_value)
            }
            None => {
                // A new key reclaims one expired key, so that a writer of many
                // keys (MSET) does not outpace reclamation: the map then grows
                // only while no expired key is left in it.
                self.reclaim(now, 1);
                // The map first: a scan never lists a key the map lacks.
                let shared: Arc<str> = Arc::from(key);
                self.map
                    .insert(Arc::clone(&shared), Entry { value, expires_at });
                self.order.insert(shared);
                self.expiry_changed(key, stream, None, expires_at);
                None
            }
        }
    }

    /// Deletes `key`; whether it was live (an expired key is deleted too, and
    /// counts as missing, as `DEL` answers in Redis).
    pub(super) fn remove(&mut self, key: &str, now: Now) -> bool {
        match self.map.remove_entry(key) {
            Some((key, entry)) => {
                self.order.remove(&key);
                if let Some(at) = entry.expires_at {
                    self.expiries.remove(&(at, String::from(&*key)));
                }
                self.removed(&entry.value);
                !now.passed(entry.expires_at)
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

    #[inline]
    pub(super) fn string(&self, key: &str, now: Now) -> StoreResult<Option<&Bytes>> {
        match self.live(key, now) {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(b),
                ..
            }) => Ok(Some(b)),
            Some(_) => Err(wrong_type()),
        }
    }

    pub(super) fn integer(&self, key: &str, now: Now) -> StoreResult<Option<i64>> {
        match self.string(key, now)? {
            None => Ok(None),
            Some(bytes) => parse_integer(bytes).map(Some),
        }
    }
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
