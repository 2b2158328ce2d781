//! The live tail of events: a page, and the server-sent events it reads.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use igniter_store::scope::Complete;
use igniter_store::{Serializer, StoreActors};

use crate::Ctx;
use crate::html::{self, Html, Layout, Nav};
use crate::pages::{render, store_error};

/// The SSE event name of one tailed event.
pub(crate) const EVENT: &str = "board-event";

/// `GET /events`: the page. Its script (`assets/board.js`) opens
/// `events/stream` and adds a row per event; without JavaScript the page
/// says so.
pub(crate) async fn page<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
) -> Response {
    let mut h = Html::new();
    if inner.channels.is_empty() {
        h.raw("<p class=\"muted\">No event channel is registered with this board.</p>");
    } else {
        h.raw("<p>Events published on ");
        for (i, channel) in inner.channels.iter().enumerate() {
            if i > 0 {
                h.raw(", ");
            }
            h.raw("<code>").text(channel.name()).raw("</code>");
        }
        h.raw(" in this scope appear below as they are published, newest first. ")
            .raw("Nothing is stored: what was published before the page opened is not shown.</p>")
            .raw("<p id=\"tail-status\" class=\"status\">The live tail needs JavaScript; ")
            .raw("<a href=\"events/stream\">events/stream</a> is the raw event stream.</p>")
            .raw("<table class=\"tail\"><thead><tr><th>Received</th><th>Published</th><th>Channel</th>")
            .raw("<th>Payload</th></tr></thead><tbody id=\"tail\" data-src=\"events/stream\" data-limit=\"")
            .num(inner.payload_limit)
            .raw("\"></tbody></table>")
            .raw("<script src=\"assets/board.js\" defer></script>");
    }
    let layout = Layout {
        title: "Live events",
        base: &ctx.base,
        actions: inner.actions,
        notice: None,
        nav: Nav::Events,
    };
    render(&layout, h)
}

/// `GET /events/stream`: every registered channel of the handle's scope as
/// server-sent events named `board-event`, each
/// `{"channel", "timestamp", "payload", "truncated"}` (the payload as JSON
/// text, cut at the payload limit), or `{"channel", "error"}` (an error
/// code) for a message that does not decode or a lag. It is subscribed
/// before the response starts.
pub(crate) async fn stream<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
) -> Response {
    let events = ctx.handle.events();
    // Every channel at once: one round trip, not one per channel.
    let subscriptions = futures::future::try_join_all(
        inner
            .channels
            .iter()
            .map(|channel| events.subscribe(channel)),
    );
    let subscriptions = match subscriptions.await {
        Ok(subscriptions) => subscriptions,
        Err(e) => return store_error(&ctx.base, inner.actions, &e),
    };
    let mut streams: Vec<BoxStream<'static, Result<Event, Infallible>>> = Vec::new();
    for (channel, subscription) in inner.channels.iter().zip(subscriptions) {
        let name = channel.name();
        let limit = inner.payload_limit;
        streams.push(
            subscription
                .map(move |item| {
                    let data = match item {
                        Ok(event) => {
                            let (payload, truncated) = html::value_text(&event.data, limit);
                            serde_json::json!({
                                "channel": name,
                                "timestamp": event.timestamp,
                                "payload": payload,
                                "truncated": truncated,
                            })
                        }
                        Err(e) => {
                            serde_json::json!({ "channel": name, "error": e.code().as_str() })
                        }
                    };
                    Ok(Event::default().event(EVENT).data(data.to_string()))
                })
                .boxed(),
        );
    }
    // A first comment, so the client sees the stream open at once.
    let opened = stream::once(async { Ok(Event::default().comment("subscribed")) });
    let events = opened.chain(stream::select_all(streams));
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
