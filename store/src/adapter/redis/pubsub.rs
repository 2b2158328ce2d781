//! The pub/sub connection of the Redis adapters: its own RESP3 connection,
//! driven by one task that runs (un)subscribe commands in order and fans
//! messages out to local subscribers. The same worker serves one server
//! (`ConnectionManager`) and a cluster (`ClusterConnection`).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use super::{DEFAULT_RESPONSE_TIMEOUT, map_error};
use crate::adapter::pubsub::{Fanout, OnLastDrop, RawMessage, RawSubscription, TopicKind};
use crate::error::{ErrorCode, StoreError, StoreResult};

/// The pub/sub side of a Redis adapter: the in-process fanout and the
/// worker that owns the pub/sub connection.
pub(crate) struct PubSub {
    fanout: Fanout,
    /// Ordered (un)subscribe commands for the worker.
    control: mpsc::UnboundedSender<Control>,
}

/// Where the pub/sub connection hands its pushes: messages go to the
/// fanout; the news of a disconnection also goes to the worker, which then
/// restores the subscriptions however long the outage lasts.
#[derive(Clone)]
pub(crate) struct PushSink {
    fanout: Fanout,
    /// Weak, like the unsubscribe hook: the connection must not keep its own
    /// worker alive.
    control: mpsc::WeakUnboundedSender<Control>,
}

impl PubSub {
    /// Starts the worker; `connect` makes the pub/sub connection on the
    /// first subscribe, its pushes going to the sink it is given.
    pub(crate) fn start<C, F, Fut>(capacity: usize, connect: F) -> Self
    where
        C: PubSubConn,
        F: Fn(PushSink) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = StoreResult<C>> + Send + 'static,
    {
        let (control, receiver) = mpsc::unbounded_channel();
        // Weak: the worker owns the fanout, and so this hook; a strong sender
        // here would keep the worker alive for ever.
        let weak = control.downgrade();
        let hook: OnLastDrop = Arc::new(move |kind, topic: &str| {
            if let Some(control) = weak.upgrade() {
                let _ = control.send(Control::Unsubscribe(kind, topic.to_owned()));
            }
        });
        let fanout = Fanout::new(capacity, Some(hook));
        let sink = PushSink {
            fanout: fanout.clone(),
            control: control.downgrade(),
        };
        tokio::spawn(pubsub_worker(connect, sink, receiver));
        PubSub { fanout, control }
    }

    /// Joins the topic, and returns once the server confirmed the
    /// subscription (also for a subscriber joining a topic another one is
    /// still subscribing).
    pub(crate) async fn subscribe(
        &self,
        kind: TopicKind,
        topic: &str,
    ) -> StoreResult<RawSubscription> {
        let closed = || StoreError::new(ErrorCode::NotConnected, "the adapter is closed");
        let joined = self.fanout.join(kind, topic).ok_or_else(closed)?;
        let (ack, done) = oneshot::channel();
        self.control
            .send(Control::Subscribe(kind, topic.to_owned(), ack))
            .map_err(|_| closed())?;
        done.await.map_err(|_| closed())??;
        // The worker (and its connection) lives while the adapter or any
        // subscription does.
        let keep_alive: Arc<dyn Any + Send + Sync> = Arc::new(self.control.clone());
        Ok(joined.keep_alive(keep_alive))
    }

    /// The topics with local subscribers: `(channels, patterns)`.
    pub(crate) fn active(&self) -> (usize, usize) {
        self.fanout.active()
    }

    /// Ends every subscription and the worker.
    pub(crate) fn close(&self) {
        self.fanout.close();
        let _ = self.control.send(Control::Stop);
    }
}

impl std::fmt::Debug for PubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSub")
            .field("fanout", &self.fanout)
            .finish_non_exhaustive()
    }
}

/// Work for the pub/sub connection, in order: a subscribe is answered once
/// Redis confirmed it; an unsubscribe (sent when the last local subscriber of
/// a topic goes) is skipped if a new subscriber has joined since.
pub(crate) enum Control {
    Subscribe(TopicKind, String, oneshot::Sender<StoreResult<()>>),
    Unsubscribe(TopicKind, String),
    /// The connection dropped: the server holds none of our subscriptions
    /// until they are restored.
    Disconnected,
    Stop,
}

/// A connection that can (un)subscribe, its messages arriving as RESP3
/// pushes.
pub(crate) trait PubSubConn: Send + 'static {
    /// Whether the connection itself restores its subscriptions on the
    /// right node however long an outage lasts, so that the worker must not
    /// subscribe again (a cluster connection would then route the repeated
    /// `SUBSCRIBE` to another node while the slot's owner is down, and
    /// every message would arrive twice).
    const RESTORES_ITSELF: bool;

    /// `SUBSCRIBE` or `PSUBSCRIBE`.
    fn join(
        &mut self,
        kind: TopicKind,
        topic: &str,
    ) -> impl Future<Output = redis::RedisResult<()>> + Send;
    /// `UNSUBSCRIBE` or `PUNSUBSCRIBE`.
    fn leave(
        &mut self,
        kind: TopicKind,
        topic: &str,
    ) -> impl Future<Output = redis::RedisResult<()>> + Send;
}

macro_rules! pubsub_conn {
    ($t:ty, $restores:expr) => {
        impl PubSubConn for $t {
            const RESTORES_ITSELF: bool = $restores;

            async fn join(&mut self, kind: TopicKind, topic: &str) -> redis::RedisResult<()> {
                match kind {
                    TopicKind::Channel => self.subscribe(topic).await,
                    TopicKind::Pattern => self.psubscribe(topic).await,
                }
            }

            async fn leave(&mut self, kind: TopicKind, topic: &str) -> redis::RedisResult<()> {
                match kind {
                    TopicKind::Channel => self.unsubscribe(topic).await,
                    TopicKind::Pattern => self.punsubscribe(topic).await,
                }
            }
        }
    };
}

// A `ConnectionManager` stops reconnecting after its retry budget (a few
// seconds): past that, only a new command makes it try again.
pubsub_conn!(ConnectionManager, false);
#[cfg(feature = "cluster")]
pubsub_conn!(redis::cluster_async::ClusterConnection, true);

/// How long the worker waits before it tries again to restore the
/// subscriptions after a disconnection: doubling from the first to the last,
/// and then every [`RESYNC_MAX`] for as long as the outage lasts.
const RESYNC_FIRST: Duration = Duration::from_millis(100);
const RESYNC_MAX: Duration = Duration::from_secs(1);

/// Owns the pub/sub connection, made by `connect` on the first subscribe.
/// Ends on `close`, or when the adapter and every subscription are gone
/// (every strong sender of `control` dropped).
///
/// The worker, not the `redis` client, is the one that keeps the server's
/// subscriptions equal to the wanted ones (the fanout's topics). The client
/// restores what it knows after a reconnect, but it gives up reconnecting
/// after its retry budget (a few seconds) and it also restores a topic whose
/// unsubscribe failed during the outage. So after every disconnection, and
/// after every failed unsubscribe, the worker resynchronizes, retrying for as
/// long as it takes: each of its commands also makes the client try to
/// reconnect again.
async fn pubsub_worker<C, F, Fut>(
    connect: F,
    sink: PushSink,
    mut control: mpsc::UnboundedReceiver<Control>,
) where
    C: PubSubConn,
    F: Fn(PushSink) -> Fut + Send + Sync,
    Fut: Future<Output = StoreResult<C>> + Send,
{
    let fanout = sink.fanout.clone();
    let mut connection: Option<C> = None;
    // What the server holds for us, as far as we know: joined topics, and
    // topics whose unsubscribe has not gone through yet.
    let mut joined: HashSet<(TopicKind, String)> = HashSet::new();
    let mut resync: Option<Duration> = None;
    loop {
        let request = match resync {
            Some(wait) => tokio::select! {
                biased;
                request = control.recv() => request,
                () = tokio::time::sleep(wait) => {
                    resync = match &mut connection {
                        Some(con) => match resynchronize(con, &fanout, &mut joined).await {
                            Ok(()) => None,
                            Err(_) => Some((wait * 2).min(RESYNC_MAX)),
                        },
                        // Nothing is subscribed on a connection never made.
                        None => None,
                    };
                    continue;
                }
            },
            None => control.recv().await,
        };
        let Some(request) = request else { break };
        match request {
            Control::Stop => break,
            Control::Disconnected => resync = Some(RESYNC_FIRST),
            Control::Subscribe(kind, topic, ack) => {
                let result = async {
                    if connection.is_none() {
                        connection = Some(connect(sink.clone()).await?);
                    }
                    let con = connection.as_mut().ok_or_else(|| {
                        StoreError::new(ErrorCode::ConnectionFailed, "no pub/sub connection")
                    })?;
                    con.join(kind, &topic).await.map_err(map_error)
                }
                .await;
                if result.is_ok() {
                    joined.insert((kind, topic));
                }
                let _ = ack.send(result);
            }
            Control::Unsubscribe(kind, topic) => {
                let still_wanted = fanout.topics().contains(&(kind, topic.clone()));
                if let (false, Some(con)) = (still_wanted, connection.as_mut()) {
                    if con.leave(kind, &topic).await.is_ok() {
                        joined.remove(&(kind, topic));
                    } else {
                        // Left for the resynchronization, which goes on
                        // until the server has let go of it.
                        resync.get_or_insert(RESYNC_FIRST);
                    }
                }
            }
        }
    }
    fanout.close();
}

/// Makes the server's subscriptions those the fanout wants: subscribes each
/// wanted topic again (a no-op for one the client restored already) and
/// unsubscribes what is no longer wanted.
async fn resynchronize<C: PubSubConn>(
    con: &mut C,
    fanout: &Fanout,
    joined: &mut HashSet<(TopicKind, String)>,
) -> redis::RedisResult<()> {
    let wanted: HashSet<(TopicKind, String)> = fanout.topics().into_iter().collect();
    if !C::RESTORES_ITSELF {
        for (kind, topic) in &wanted {
            con.join(*kind, topic).await?;
            joined.insert((*kind, topic.clone()));
        }
    }
    let unwanted: Vec<(TopicKind, String)> = joined.difference(&wanted).cloned().collect();
    for (kind, topic) in unwanted {
        con.leave(kind, &topic).await?;
        joined.remove(&(kind, topic));
    }
    Ok(())
}

/// The pub/sub connection to one server: RESP3, resubscribing by itself
/// after a reconnect, its pushes delivered to `fanout`.
pub(super) async fn pubsub_connection(
    client: Client,
    sink: PushSink,
    connection_timeout: Duration,
) -> StoreResult<ConnectionManager> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    // The connection info carries the TLS settings, so the new client keeps them.
    let client = Client::open(info.set_redis_settings(settings)).map_err(|e| {
        StoreError::new(
            ErrorCode::ConfigurationInvalid,
            "the Redis connection settings are not valid",
        )
        .with_source(e)
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connection_timeout))
        .set_response_timeout(Some(DEFAULT_RESPONSE_TIMEOUT))
        .set_max_delay(Duration::from_secs(1))
        .set_automatic_resubscription()
        .set_push_sender(move |push: PushInfo| {
            deliver(&sink, push);
            Ok::<(), redis::aio::SendError>(())
        });
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(map_error)
}

/// Hands a push (a message, or the news of a disconnection) to the fanout,
/// and a disconnection also to the worker.
pub(crate) fn deliver(sink: &PushSink, push: PushInfo) {
    let fanout = &sink.fanout;
    let bytes = |v: &Value| match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    };
    let text = |v: &Value| bytes(v).and_then(|b| String::from_utf8(b).ok());
    match (push.kind, push.data.as_slice()) {
        (PushKind::Message, [channel, payload]) => {
            if let (Some(channel), Some(payload)) = (text(channel), bytes(payload)) {
                let message = RawMessage::new(channel.clone(), Bytes::from(payload));
                fanout.deliver(TopicKind::Channel, &channel, message);
            }
        }
        (PushKind::PMessage, [pattern, channel, payload]) => {
            if let (Some(pattern), Some(channel), Some(payload)) =
                (text(pattern), text(channel), bytes(payload))
            {
                fanout.deliver(
                    TopicKind::Pattern,
                    &pattern,
                    RawMessage::new(channel, Bytes::from(payload)),
                );
            }
        }
        // The connection dropped: whatever is published until it is back
        // (and the subscriptions restored) is lost. Say so.
        (PushKind::Disconnection, _) => {
            fanout.broadcast_gap();
            if let Some(control) = sink.control.upgrade() {
                let _ = control.send(Control::Disconnected);
            }
        }
        _ => {}
    }
}
