//! Typed events: channels, envelopes, publishing and subscriptions.

mod envelope;
#[cfg(feature = "garde")]
mod validation;

use crate::engine::call;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::channel::{Channel, ChannelDef, EventRegistry, StoreEvents};
pub use envelope::{EventActor, EventContext, EventScope};

use crate::adapter::{RawMessage, RawSubscription, RecvError, TopicKind};
use crate::engine::Core;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::serializer::Serializer;
use crate::telemetry::op;
use envelope::{OutEnvelope, ScopeOut, decode_message, now_iso8601};

/// Publishing and subscribing on the event channels of one scope chain;
/// from [`Store::events`](crate::Store::events).
///
/// Channels are scoped like keys:
/// `<prefix>:<service>[:<scopeKey>:<id>]*:events:<event name>`, so a
/// subscriber receives only what is published in its own scope.
///
/// Every subscription is a [`Subscription`], a `futures::Stream` of
/// `StoreResult<Arc<EventContext<T>>>`, active when `subscribe` returns.
/// Within a process every local subscriber of a channel (or of a namespace,
/// for [`Events::subscribe_all`]) shares one backend subscription, and each
/// message is decoded once per payload type and shared through the `Arc`
/// (no `Clone` bound on payloads). Dropping a subscription unsubscribes; the
/// backend subscription goes with the last local subscriber.
///
/// A message that does not decode yields one `Err`
/// (`STORE_DESERIALIZATION_FAILED`) and the stream goes on. A subscriber
/// that falls behind by more than the adapter's capacity yields one `Err`
/// (`STORE_SUBSCRIBER_LAGGED`, with `details.lost`), never a silent gap.
///
/// The envelope is always JSON, the TypeScript package's format; the store's
/// [`Serializer`] applies to stored values, not to events.
#[derive(Debug)]
pub struct Events<'a, Z> {
    core: &'a Core<Z>,
}

impl<'a, Z: Serializer> Events<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Events { core }
    }

    /// The full channel of `channel` in this scope, for a raw client.
    pub fn channel_name<T>(&self, channel: &Channel<T>) -> StoreResult<String> {
        self.core.check_required()?;
        Ok(self.core.chain.space.channel(channel.name()))
    }

    /// Publishes `payload` on `channel` in this scope, in the envelope
    /// `{"type","data","timestamp","scope"[,"scopes"][,"actor"]}`. Returns the
    /// receiver count the adapter reports: on Redis, subscribed connections
    /// (one per process and channel or pattern), not local streams.
    pub async fn publish<T: Serialize>(
        &self,
        channel: &Channel<T>,
        payload: &T,
    ) -> StoreResult<u64> {
        self.publish_checked(channel, payload, |_| Ok(())).await
    }

    /// Checks `payload` against its `garde` rules, then publishes it: an
    /// invalid payload is refused with `STORE_SCHEMA_VALIDATION_FAILED`
    /// (the rules broken in `details.violations`) before anything is sent.
    #[cfg(feature = "garde")]
    pub async fn publish_validated<T>(&self, channel: &Channel<T>, payload: &T) -> StoreResult<u64>
    where
        T: Serialize + garde::Validate,
        T::Context: Default,
    {
        self.publish_checked(channel, payload, validation::check)
            .await
    }

    async fn publish_checked<T: Serialize>(
        &self,
        channel: &Channel<T>,
        payload: &T,
        check: impl FnOnce(&T) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let core = self.core;
        let name = channel.name();
        op!(
            core,
            "events",
            "events",
            "publish",
            ErrorCode::PublishFailed,
            async {
                core.check_required()?;
                check(payload)?;
                let bytes = encode_envelope(core, name, payload)?;
                call!(core, publish(&core.chain.space.channel(name), bytes))
            },
            |v| events.channel = name,
            events.wildcard = false,
            events.receivers = *v
        )
    }

    /// Subscribes to `channel` in this scope.
    pub async fn subscribe<T>(&self, channel: &Channel<T>) -> StoreResult<Subscription<T>>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let core = self.core;
        let name = channel.name();
        op!(
            core,
            "events",
            "events",
            "subscribe",
            ErrorCode::SubscribeFailed,
            async {
                core.check_required()?;
                let topic = core.chain.space.channel(name);
                let raw = call!(core, subscribe(TopicKind::Channel, &topic))?;
                let decode = move |message: &RawMessage| -> Decoded<T> {
                    decode_message(message.payload(), name, |raw| {
                        serde_json::from_str(raw.get())
                    })
                    .map(Arc::new)
                    .map_err(|e| Failure::undecodable::<T>(e, message.payload()))
                };
                Ok(Subscription::new(core.clone(), name, false, raw, decode))
            },
            |_v| events.channel = name,
            events.wildcard = false
        )
    }

    /// Subscribes to every channel of the namespace of `E` in this scope (a
    /// pattern subscription, `<namespace>:*`), each message decoded as the
    /// variant of its channel. A message on a channel the namespace does not
    /// declare yields `Err` with `STORE_SCHEMA_CHANNEL_NOT_FOUND`, and the
    /// stream goes on.
    pub async fn subscribe_all<E: StoreEvents>(&self) -> StoreResult<Subscription<E>> {
        let core = self.core;
        let namespace = E::REGISTRY.namespace();
        op!(
            core,
            "events",
            "events",
            "subscribe",
            ErrorCode::SubscribeFailed,
            async {
                core.check_required()?;
                let pattern = core.chain.space.channel_pattern(namespace);
                let space = core.chain.space.clone();
                let raw = call!(core, subscribe(TopicKind::Pattern, &pattern))?;
                let decode = move |message: &RawMessage| -> Decoded<E> {
                    let event = space.event(message.channel()).unwrap_or_default();
                    if !E::REGISTRY.channels().iter().any(|c| c.name() == event) {
                        return Err(Failure::UnknownChannel);
                    }
                    decode_message(message.payload(), event, |raw| {
                        E::decode_event(event, raw).unwrap_or_else(|| {
                            Err(serde::de::Error::custom("the event is not declared"))
                        })
                    })
                    .map(Arc::new)
                    .map_err(|e| Failure::Undecodable(Arc::new(Undecodable::from(e))))
                };
                Ok(Subscription::new(
                    core.clone(),
                    namespace,
                    true,
                    raw,
                    decode,
                ))
            },
            |_v| events.channel = namespace,
            events.wildcard = true
        )
    }
}

fn encode_envelope<Z: Serializer, T: Serialize>(
    core: &Core<Z>,
    event: &str,
    payload: &T,
) -> StoreResult<bytes::Bytes> {
    let links = &core.chain.links;
    let scopes: Vec<ScopeOut<'_>> = links
        .iter()
        .map(|l| ScopeOut {
            key: l.key,
            identifier: &l.id,
        })
        .collect();
    let timestamp = now_iso8601();
    let envelope = OutEnvelope {
        event_type: event,
        data: payload,
        timestamp: &timestamp,
        scope: scopes.last().copied(),
        scopes: if scopes.len() > 1 { &scopes } else { &[] },
        actor: core.actor.as_deref().map(|a| ScopeOut {
            key: a.key,
            identifier: &a.id,
        }),
    };
    let bytes = serde_json::to_vec(&crate::finite::Finite(&envelope)).map_err(|e| {
        StoreError::new(
            ErrorCode::SerializationFailed,
            "the event payload could not be serialized as JSON",
        )
        .with_source(e)
    })?;
    core.check_size(bytes.len())?;
    Ok(bytes::Bytes::from(bytes))
}

/// Why a message did not decode; shared by every subscriber of a message and
/// turned into a fresh [`StoreError`] for each.
#[derive(Debug, Clone)]
enum Failure {
    Undecodable(Arc<Undecodable>),
    UnknownChannel,
}

type Decoded<T> = Result<Arc<EventContext<T>>, Failure>;

/// serde's error for a message, and the path of the field it is about
/// (`data.items[2].width`) when known: the source of a subscriber's
/// `STORE_DESERIALIZATION_FAILED`.
#[derive(Debug)]
struct Undecodable {
    path: Option<String>,
    error: serde_json::Error,
}

impl From<envelope::DecodeError> for Undecodable {
    fn from(e: envelope::DecodeError) -> Self {
        Undecodable {
            path: None,
            error: e.error,
        }
    }
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.error),
            None => fmt::Display::fmt(&self.error, f),
        }
    }
}

impl std::error::Error for Undecodable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Shares one [`Undecodable`] among the errors of every subscriber.
#[derive(Debug)]
struct SharedUndecodable(Arc<Undecodable>);

impl fmt::Display for SharedUndecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SharedUndecodable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.error)
    }
}

impl Failure {
    /// A message that did not decode as a `T`, with the path of the field
    /// serde stopped at (found again on this cold path by decoding once more
    /// with `serde_path_to_error`).
    #[cold]
    fn undecodable<T: DeserializeOwned>(e: envelope::DecodeError, payload: &[u8]) -> Failure {
        let mut path = None;
        if e.error.is_data() {
            let data = if e.in_envelope {
                serde_json::from_slice::<envelope::InEnvelope<'_>>(payload)
                    .ok()
                    .and_then(|env| env.data)
            } else {
                serde_json::from_slice::<&serde_json::value::RawValue>(payload).ok()
            };
            if let Some(data) = data {
                let mut de = serde_json::Deserializer::from_str(data.get());
                if let Err(err) = serde_path_to_error::deserialize::<_, T>(&mut de) {
                    let field = err.path().to_string();
                    path = Some(match (e.in_envelope, field.as_str()) {
                        (true, ".") => "data".to_owned(),
                        (true, _) => format!("data.{field}"),
                        (false, _) => field,
                    });
                }
            }
        }
        Failure::Undecodable(Arc::new(Undecodable {
            path,
            error: e.error,
        }))
    }

    fn error(&self) -> StoreError {
        match self {
            Failure::Undecodable(why) => {
                let error = StoreError::new(
                    ErrorCode::DeserializationFailed,
                    "a message on the channel is neither an envelope nor a payload of the channel's type (the source says why)",
                );
                // The path stays in the source: a map's keys in it may be
                // tenant data, which never goes into a message or details.
                error.with_source(SharedUndecodable(Arc::clone(why)))
            }
            Failure::UnknownChannel => StoreError::new(
                ErrorCode::SchemaChannelNotFound,
                "a message arrived on a channel that the namespace does not declare",
            ),
        }
    }
}

/// The events of one subscription, as a `futures::Stream`. Dropping it
/// unsubscribes. It ends when the adapter is closed.
#[must_use = "a subscription receives nothing unless it is polled"]
pub struct Subscription<T> {
    inner: BoxStream<'static, StoreResult<Arc<EventContext<T>>>>,
    unsubscribe: Unsubscribe,
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("channel", &self.unsubscribe.channel)
            .field("wildcard", &self.unsubscribe.wildcard)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Subscription<T> {
    fn new<Z: Serializer>(
        core: Core<Z>,
        channel: &'static str,
        wildcard: bool,
        raw: RawSubscription,
        decode: impl Fn(&RawMessage) -> Decoded<T> + Send + Sync + 'static,
    ) -> Self {
        #[cfg(feature = "metrics")]
        let service = core.shared.service_label.clone();
        #[cfg(not(feature = "metrics"))]
        let service = ();
        let inner = futures::stream::unfold(
            (raw, decode, service),
            |(mut raw, decode, service)| async move {
                let _ = &service;
                let item = match raw.recv().await {
                    Ok(message) if message.is_gap() => {
                        #[cfg(feature = "metrics")]
                        crate::telemetry::metrics::count(
                            crate::telemetry::metrics::GAPS,
                            &service,
                            1,
                        );
                        Err(StoreError::new(
                            ErrorCode::ConnectionFailed,
                            "the connection under the subscription dropped: messages published until it was restored are lost",
                        ))
                    }
                    Ok(message) => message.with_decoded(&decode, |decoded| match decoded {
                        Ok(event) => Ok(Arc::clone(event)),
                        Err(failure) => Err(failure.error()),
                    }),
                    Err(RecvError::Lagged(lost)) => {
                        #[cfg(feature = "metrics")]
                        crate::telemetry::metrics::count(
                            crate::telemetry::metrics::LAGGED,
                            &service,
                            lost,
                        );
                        Err(StoreError::new(
                            ErrorCode::SubscriberLagged,
                            "the subscriber fell behind and lost messages",
                        )
                        .with_detail("lost", lost))
                    }
                    Err(RecvError::Closed) => return None,
                };
                Some((item, (raw, decode, service)))
            },
        );
        let ctx = core.telemetry();
        Subscription {
            inner: Box::pin(inner),
            unsubscribe: Unsubscribe {
                service: ctx.service.into(),
                scope_key: ctx.scope_key,
                scope_depth: ctx.scope_depth,
                channel,
                wildcard,
            },
        }
    }
}

#[cfg(feature = "garde")]
impl<T> Subscription<T>
where
    T: garde::Validate + Send + Sync + 'static,
    T::Context: Default,
{
    /// Checks every received payload against its `garde` rules: an invalid
    /// one becomes an `Err` with `STORE_SCHEMA_VALIDATION_FAILED`, and the
    /// stream goes on.
    pub fn validated(self) -> Self {
        use futures::StreamExt;
        let Subscription { inner, unsubscribe } = self;
        let inner = inner
            .map(|item| item.and_then(|ev| validation::check(&ev.data).map(|()| ev)))
            .boxed();
        Subscription { inner, unsubscribe }
    }
}

impl<T> Stream for Subscription<T> {
    type Item = StoreResult<Arc<EventContext<T>>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Emits the unsubscribe telemetry when a subscription is dropped.
struct Unsubscribe {
    service: Box<str>,
    scope_key: Option<&'static str>,
    scope_depth: usize,
    channel: &'static str,
    wildcard: bool,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        tracing::event!(
            name: "igniter.store.events.unsubscribe.success",
            target: "igniter_store",
            tracing::Level::DEBUG,
            store.service = &*self.service,
            store.namespace = "events",
            store.scope_key = self.scope_key,
            store.scope_depth = self.scope_depth,
            events.channel = self.channel,
            events.wildcard = self.wildcard,
        );
    }
}
