//! The pub/sub connection of [`RedisAdapter`](super::RedisAdapter): its own
//! RESP3 connection, driven by one task that runs (un)subscribe commands in
//! order and fans messages out to local subscribers.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};

use super::{DEFAULT_RESPONSE_TIMEOUT, map_error};
use crate::adapter::pubsub::{Fanout, RawMessage, TopicKind};
use crate::error::{ErrorCode, StoreError, StoreResult};

/// Work for the pub/sub connection, in order: a subscribe is answered once
/// Redis confirmed it; an unsubscribe (sent when the last local subscriber of
/// a topic goes) is skipped if a new subscriber has joined since.
pub(super) enum Control {
    Subscribe(TopicKind, String, oneshot::Sender<StoreResult<()>>),
    Unsubscribe(TopicKind, String),
    Stop,
}

/// Owns the pub/sub connection. Ends on `close`, or when the adapter and
/// every subscription are gone (every sender of `control` dropped).
pub(super) async fn pubsub_worker(
    client: Client,
    fanout: Fanout,
    mut control: mpsc::UnboundedReceiver<Control>,
    connection_timeout: Duration,
) {
    let mut connection: Option<ConnectionManager> = None;
    // Ends when `close` says so, or when the adapter and every subscription
    // are gone (every strong sender dropped).
    while let Some(request) = control.recv().await {
        match request {
            Control::Stop => break,
            Control::Subscribe(kind, topic, ack) => {
                let result = async {
                    if connection.is_none() {
                        connection =
                            Some(pubsub_connection(&client, &fanout, connection_timeout).await?);
                    }
                    let con = connection.as_mut().ok_or_else(|| {
                        StoreError::new(ErrorCode::ConnectionFailed, "no pub/sub connection")
                    })?;
                    match kind {
                        TopicKind::Channel => con.subscribe(&topic).await,
                        TopicKind::Pattern => con.psubscribe(&topic).await,
                    }
                    .map_err(map_error)
                }
                .await;
                let _ = ack.send(result);
            }
            Control::Unsubscribe(kind, topic) => {
                let still_wanted = fanout.topics().contains(&(kind, topic.clone()));
                if let (false, Some(con)) = (still_wanted, connection.as_mut()) {
                    let _ = match kind {
                        TopicKind::Channel => con.unsubscribe(&topic).await,
                        TopicKind::Pattern => con.punsubscribe(&topic).await,
                    };
                }
            }
        }
    }
    fanout.close();
}

async fn pubsub_connection(
    client: &Client,
    fanout: &Fanout,
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
    let sink = fanout.clone();
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

fn deliver(fanout: &Fanout, push: PushInfo) {
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
        (PushKind::Disconnection, _) => fanout.broadcast_gap(),
        _ => {}
    }
}
