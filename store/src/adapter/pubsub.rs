//! The pub/sub side of the adapter contract: messages as adapters receive
//! them and subscriptions as adapters hand them out (a `tokio` broadcast
//! receiver). The built-in adapters share one backend subscription among
//! every local subscriber through a fanout of their own, private to this
//! crate.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::glob;

/// How many messages a local subscriber may fall behind before it is told
/// that it lost some (`STORE_SUBSCRIBER_LAGGED`).
pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 1024;

/// A message on a channel, as the adapter received it. Shared (`Arc`) by
/// every local subscriber of its channel or pattern, so that the store decodes
/// it once for all of them.
pub struct RawMessage {
    channel: String,
    payload: Bytes,
    /// Not a message: the connection dropped, and messages published until
    /// it was restored are lost.
    gap: bool,
    decoded: OnceLock<(TypeId, Arc<dyn Any + Send + Sync>)>,
}

impl fmt::Debug for RawMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawMessage")
            .field("len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

impl RawMessage {
    /// A message received on `channel`.
    pub fn new(channel: impl Into<String>, payload: Bytes) -> Self {
        RawMessage {
            channel: channel.into(),
            payload,
            gap: false,
            decoded: OnceLock::new(),
        }
    }

    /// The marker a subscriber receives when the connection under its
    /// subscription dropped: messages published until the subscription was
    /// restored are lost, and the subscriber is told so.
    pub fn gap() -> Self {
        RawMessage {
            gap: true,
            ..RawMessage::new(String::new(), Bytes::new())
        }
    }

    /// Whether this is the [`RawMessage::gap`] marker.
    pub fn is_gap(&self) -> bool {
        self.gap
    }

    /// The channel it was published on (for a pattern subscription, the
    /// matching channel, not the pattern).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The bytes as published.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Runs `f` on the message decoded as a `T` by `decode`, computed once
    /// per message for the first type asked and shared by every subscriber
    /// asking for it (lent, so no reference count is touched); another type
    /// on the same channel is decoded for its subscriber alone.
    pub(crate) fn with_decoded<T: Any + Send + Sync, R>(
        &self,
        decode: impl Fn(&Self) -> T,
        f: impl FnOnce(&T) -> R,
    ) -> R {
        let want = TypeId::of::<T>();
        let (id, shared) = self.decoded.get_or_init(|| {
            let value: Arc<dyn Any + Send + Sync> = Arc::new(decode(self));
            (want, value)
        });
        if *id == want
            && let Some(value) = shared.downcast_ref::<T>()
        {
            return f(value);
        }
        f(&decode(self))
    }
}

/// Why [`RawSubscription::recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// The subscriber fell behind and this many messages were dropped for it.
    Lagged(u64),
    /// The subscription ended (the adapter was closed).
    Closed,
}

/// One local subscriber's view of a backend subscription. Dropping the last
/// one of a channel or pattern ends the backend subscription.
pub struct RawSubscription {
    receiver: broadcast::Receiver<Arc<RawMessage>>,
    _guard: Arc<dyn Any + Send + Sync>,
    _keep_alive: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for RawSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSubscription").finish_non_exhaustive()
    }
}

impl RawSubscription {
    /// A subscription receiving from `receiver`, keeping `guard` alive as
    /// long as it lives (the adapter's handle on the backend subscription).
    pub fn new(
        receiver: broadcast::Receiver<Arc<RawMessage>>,
        guard: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        RawSubscription {
            receiver,
            _guard: guard,
            _keep_alive: None,
        }
    }

    /// Keeps `value` alive as long as the subscription (for example what
    /// drives the backend connection, so that a subscription outlives the
    /// store handles it came from).
    pub fn keep_alive(mut self, value: Arc<dyn Any + Send + Sync>) -> Self {
        self._keep_alive = Some(value);
        self
    }

    /// The next message.
    pub async fn recv(&mut self) -> Result<Arc<RawMessage>, RecvError> {
        match self.receiver.recv().await {
            Ok(message) => Ok(message),
            Err(broadcast::error::RecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => Err(RecvError::Closed),
        }
    }
}

/// Whether a subscription is to one channel or to a glob pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicKind {
    /// `SUBSCRIBE channel`.
    Channel,
    /// `PSUBSCRIBE pattern`.
    Pattern,
}

/// Called when the last local subscriber of a topic goes: the adapter ends
/// the backend subscription there (Redis: `UNSUBSCRIBE` / `PUNSUBSCRIBE`).
pub(crate) type OnLastDrop = Arc<dyn Fn(TopicKind, &str) + Send + Sync>;

/// Shares one backend subscription per channel and per pattern among every
/// local subscriber of a process, and fans each message out to them.
#[derive(Clone)]
pub(crate) struct Fanout {
    state: Arc<Mutex<FanoutState>>,
    capacity: usize,
    on_last_drop: Option<OnLastDrop>,
}

impl fmt::Debug for Fanout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (channels, patterns) = self.active();
        f.debug_struct("Fanout")
            .field("channels", &channels)
            .field("patterns", &patterns)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct FanoutState {
    topics: HashMap<(TopicKind, String), Weak<Topic>>,
    closed: bool,
}

struct Topic {
    kind: TopicKind,
    name: String,
    sender: Mutex<Option<broadcast::Sender<Arc<RawMessage>>>>,
    state: Weak<Mutex<FanoutState>>,
    on_last_drop: Option<OnLastDrop>,
}

impl Drop for Topic {
    fn drop(&mut self) {
        if let Some(state) = self.state.upgrade() {
            let mut state = lock(&state);
            let key = (self.kind, self.name.clone());
            // Only remove the entry if it is still ours (not a newer topic).
            if state
                .topics
                .get(&key)
                .is_some_and(|w| w.strong_count() == 0)
            {
                state.topics.remove(&key);
            }
        }
        if let Some(hook) = &self.on_last_drop {
            hook(self.kind, &self.name);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Fanout {
    /// A fanout whose subscribers may fall `capacity` messages behind.
    pub(crate) fn new(capacity: usize, on_last_drop: Option<OnLastDrop>) -> Self {
        Fanout {
            state: Arc::default(),
            capacity: capacity.max(1),
            on_last_drop,
        }
    }

    /// Joins the topic, creating it when it has no subscriber: the new local
    /// subscription. `None` once the fanout is closed.
    pub(crate) fn join(&self, kind: TopicKind, name: &str) -> Option<RawSubscription> {
        let mut state = lock(&self.state);
        if state.closed {
            return None;
        }
        let key = (kind, name.to_owned());
        if let Some(topic) = state.topics.get(&key).and_then(Weak::upgrade) {
            let receiver = lock(&topic.sender).as_ref()?.subscribe();
            return Some(RawSubscription::new(receiver, topic));
        }
        let (sender, receiver) = broadcast::channel(self.capacity);
        let topic = Arc::new(Topic {
            kind,
            name: name.to_owned(),
            sender: Mutex::new(Some(sender)),
            state: Arc::downgrade(&self.state),
            on_last_drop: self.on_last_drop.clone(),
        });
        state.topics.insert(key, Arc::downgrade(&topic));
        Some(RawSubscription::new(receiver, topic))
    }

    /// Delivers a message published on `channel` to the subscribers of the
    /// channel and of every matching pattern, as an in-process server does.
    /// Returns how many topics received it.
    pub(crate) fn publish_local(&self, channel: &str, payload: &Bytes) -> u64 {
        let topics: Vec<Arc<Topic>> = {
            let state = lock(&self.state);
            state
                .topics
                .iter()
                .filter(|((kind, name), _)| match kind {
                    TopicKind::Channel => name == channel,
                    TopicKind::Pattern => glob::matches(name.as_bytes(), channel.as_bytes()),
                })
                .filter_map(|(_, w)| w.upgrade())
                .collect()
        };
        // One message per topic: what a subscriber decodes is shared only
        // with the subscribers of the same channel or pattern.
        topics
            .iter()
            .filter(|t| send(t, Arc::new(RawMessage::new(channel, payload.clone()))))
            .count() as u64
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    /// Delivers a message the backend sent for the topic `(kind, name)`.
    /// Returns whether a local subscriber was there to receive it.
    pub(crate) fn deliver(&self, kind: TopicKind, name: &str, message: RawMessage) -> bool {
        let topic = {
            let state = lock(&self.state);
            state
                .topics
                .get(&(kind, name.to_owned()))
                .and_then(Weak::upgrade)
        };
        topic.is_some_and(|t| send(&t, Arc::new(message)))
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    /// Tells every subscriber that messages may have been lost (the
    /// connection dropped); see [`RawMessage::gap`].
    pub(crate) fn broadcast_gap(&self) {
        let topics: Vec<Arc<Topic>> = {
            let state = lock(&self.state);
            state.topics.values().filter_map(Weak::upgrade).collect()
        };
        for topic in topics {
            send(&topic, Arc::new(RawMessage::gap()));
        }
    }

    /// The topics with local subscribers: `(channels, patterns)`.
    pub(crate) fn active(&self) -> (usize, usize) {
        let state = lock(&self.state);
        let live = |k| {
            state
                .topics
                .iter()
                .filter(|((kind, _), w)| *kind == k && w.strong_count() > 0)
                .count()
        };
        (live(TopicKind::Channel), live(TopicKind::Pattern))
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    /// Every topic with local subscribers, to subscribe again after a
    /// reconnect.
    pub(crate) fn topics(&self) -> Vec<(TopicKind, String)> {
        let state = lock(&self.state);
        state
            .topics
            .iter()
            .filter(|(_, w)| w.strong_count() > 0)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Ends every subscription: their streams end after the messages they
    /// already hold. Later joins fail.
    pub(crate) fn close(&self) {
        let topics: Vec<Arc<Topic>> = {
            let mut state = lock(&self.state);
            state.closed = true;
            state.topics.values().filter_map(Weak::upgrade).collect()
        };
        for topic in topics {
            lock(&topic.sender).take();
        }
    }
}

fn send(topic: &Topic, message: Arc<RawMessage>) -> bool {
    lock(&topic.sender)
        .as_ref()
        .is_some_and(|s| s.send(message).is_ok())
}
