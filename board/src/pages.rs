//! The pages that read: the overview, one stream, one stream's dead letters.

use std::future::IntoFuture;

use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{Html as HtmlResponse, IntoResponse, Response};
use futures::future::try_join_all;
use igniter_store::scope::Complete;
use igniter_store::streams::{ConsumerInfo, GroupInfo, is_entry_id};
use igniter_store::streams::{PendingEntry, StreamEntry};
use igniter_store::{ErrorCode, Serializer, Store, StoreActors, StoreError, StoreResult};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::html::{self, Html, Layout, Nav, path_segment};
use crate::{Ctx, Inner, Registered};

/// The consumer name the board's own [`Group`](igniter_store::streams::Group)
/// handles carry: only to list a group's consumers and pending entries,
/// which create no consumer.
pub(crate) const BOARD_CONSUMER: &str = "igniter-store-board";

/// How many pending entries a group shows, oldest first.
const PENDING_SHOWN: usize = 20;
/// How many of a stream's newest entries its page shows.
const NEWEST_SHOWN: usize = 5;
/// How many dead-lettered entries one page shows.
const DEAD_PAGE: usize = 25;

/// A short plain page for a status that has no more to say.
pub(crate) fn plain(status: StatusCode, message: &'static str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title></head>\
         <body><p>{message}</p></body></html>\n",
        status = status.as_u16()
    );
    (status, HtmlResponse(body)).into_response()
}

/// The page of a store error: its code and message (the store's messages
/// hold no key, value or identifier).
pub(crate) fn store_error(base: &str, actions: bool, e: &StoreError) -> Response {
    let status = match e.code() {
        ErrorCode::Timeout | ErrorCode::ConnectionFailed | ErrorCode::NotConnected => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::warn!(code = e.code().as_str(), "a board page failed");
    let mut h = Html::new();
    h.raw("<p class=\"notice error\">The store answered <code>")
        .text(e.code().as_str())
        .raw("</code>: ")
        .text(e.message())
        .raw("</p>");
    let layout = Layout {
        title: "Error",
        base,
        actions,
        notice: None,
        nav: Nav::None,
    };
    (status, HtmlResponse(html::page(&layout, &h.into_string()))).into_response()
}

pub(crate) fn render(layout: &Layout<'_>, body: Html) -> Response {
    HtmlResponse(html::page(layout, &body.into_string())).into_response()
}

/// The registered stream named by the `board_stream` path parameter.
pub(crate) fn registered<'a, S, A, Z>(
    inner: &'a Inner<S, A, Z>,
    params: &RawPathParams,
) -> Option<&'a Registered> {
    let name = params
        .iter()
        .find(|(k, _)| *k == "board_stream")
        .map(|(_, v)| v)?;
    inner.registered(name)
}

/// One row of the overview.
struct StreamRow {
    len: u64,
    groups: Vec<GroupInfo>,
    dead: Option<u64>,
}

async fn stream_row<S: Complete, A: StoreActors, Z: Serializer>(
    handle: &Store<S, A, Z>,
    stream: &Registered,
) -> StoreResult<StreamRow> {
    let streams = handle.streams();
    let (len, groups, dead) = futures::try_join!(
        streams.len(stream.name.as_str()),
        streams.groups(stream.name.as_str()),
        async {
            match &stream.dead_letters {
                Some(dead) => streams.len(dead.as_str()).await.map(Some),
                None => Ok(None),
            }
        }
    )?;
    Ok(StreamRow { len, groups, dead })
}

/// `GET /`: every registered stream.
pub(crate) async fn overview<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
) -> Response {
    let rows = match try_join_all(inner.streams.iter().map(|s| stream_row(&ctx.handle, s))).await {
        Ok(rows) => rows,
        Err(e) => return store_error(&ctx.base, inner.actions, &e),
    };
    let mut h = Html::new();
    if inner.streams.is_empty() {
        h.raw("<p class=\"muted\">No stream is registered with this board.</p>");
    } else {
        h.raw("<table class=\"streams\"><thead><tr><th>Stream</th><th class=\"num\">Entries</th>")
            .raw("<th class=\"num\">Groups</th><th class=\"num\">Consumers</th>")
            .raw("<th class=\"num\">Pending</th><th>Dead letters</th></tr></thead><tbody>");
        for (stream, row) in inner.streams.iter().zip(&rows) {
            let pending: u64 = row.groups.iter().map(|g| g.pending).sum();
            let consumers: u64 = row.groups.iter().map(|g| g.consumers).sum();
            h.raw("<tr><td><a href=\"streams/")
                .text(&path_segment(&stream.name))
                .raw("\">")
                .text(&stream.name)
                .raw("</a></td><td class=\"num\">")
                .num(row.len)
                .raw("</td><td class=\"num\">")
                .num(row.groups.len())
                .raw("</td><td class=\"num\">")
                .num(consumers)
                .raw("</td><td class=\"num")
                .raw(if pending > 0 { " warn" } else { "" })
                .raw("\">")
                .num(pending)
                .raw("</td><td>");
            match (&stream.dead_letters, row.dead) {
                (Some(dead), Some(n)) => {
                    h.raw("<a href=\"dead/")
                        .text(&path_segment(&stream.name))
                        .raw("\">")
                        .text(dead)
                        .raw("</a> <span class=\"badge")
                        .raw(if n > 0 { " bad" } else { "" })
                        .raw("\">")
                        .num(n)
                        .raw("</span>");
                }
                _ => {
                    h.raw("<span class=\"muted\">none registered</span>");
                }
            }
            h.raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }
    if !inner.channels.is_empty() {
        h.raw("<h2>Event channels</h2><p>")
            .num(inner.channels.len())
            .raw(if inner.channels.len() == 1 {
                " channel"
            } else {
                " channels"
            })
            .raw(" in the <a href=\"events\">live tail</a>: ");
        for (i, channel) in inner.channels.iter().enumerate() {
            if i > 0 {
                h.raw(", ");
            }
            h.raw("<code>").text(channel.name()).raw("</code>");
        }
        h.raw(".</p>");
    }
    let layout = Layout {
        title: "Streams",
        base: &ctx.base,
        actions: inner.actions,
        notice: ctx.notice,
        nav: Nav::Streams,
    };
    render(&layout, h)
}

/// One group as its section shows it.
struct GroupView {
    info: GroupInfo,
    consumers: Vec<ConsumerInfo>,
    pending: Vec<PendingEntry>,
}

async fn group_view<S: Complete, A: StoreActors, Z: Serializer>(
    handle: &Store<S, A, Z>,
    stream: &str,
    info: GroupInfo,
) -> StoreResult<GroupView> {
    let group = handle.streams().group(&info.name, BOARD_CONSUMER);
    let (consumers, pending) = futures::try_join!(
        group.consumers(stream),
        group
            .pending_entries(stream)
            .count(PENDING_SHOWN)
            .into_future()
    )?;
    Ok(GroupView {
        info,
        consumers,
        pending,
    })
}

/// `GET /streams/{stream}`: one stream.
pub(crate) async fn stream<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
    params: RawPathParams,
) -> Response {
    let Some(stream) = registered(&inner, &params) else {
        return plain(StatusCode::NOT_FOUND, "No such stream on this board.");
    };
    let name = stream.name.as_str();
    let streams = ctx.handle.streams();
    let loaded = async {
        let (len, groups, newest) = futures::try_join!(
            streams.len(name),
            streams.groups(name),
            streams
                .range::<IgnoredAny>(name)
                .reverse()
                .count(NEWEST_SHOWN)
                .into_future()
        )?;
        let groups =
            try_join_all(groups.into_iter().map(|g| group_view(&ctx.handle, name, g))).await?;
        Ok::<_, StoreError>((len, groups, newest))
    }
    .await;
    let (len, groups, newest) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return store_error(&ctx.base, inner.actions, &e),
    };
    let token = ctx.token(&inner);
    let mut h = Html::new();
    h.raw("<p class=\"summary\"><span class=\"badge\">")
        .num(len)
        .raw(if len == 1 { " entry" } else { " entries" })
        .raw("</span> <span class=\"badge\">")
        .num(groups.len())
        .raw(if groups.len() == 1 {
            " group"
        } else {
            " groups"
        })
        .raw("</span>");
    if let Some(dead) = &stream.dead_letters {
        h.raw(" dead letters: <a href=\"dead/")
            .text(&path_segment(name))
            .raw("\">")
            .text(dead)
            .raw("</a>");
    }
    h.raw("</p>");
    if groups.is_empty() {
        h.raw("<p class=\"muted\">No consumer group reads this stream yet.</p>");
    }
    for group in &groups {
        group_section(&mut h, &inner, name, group, &token);
    }
    h.raw("<h2>Newest entries</h2>");
    entries_table(&mut h, &newest, inner.payload_limit, None);
    let title = format!("Stream {name}");
    let layout = Layout {
        title: &title,
        base: &ctx.base,
        actions: inner.actions,
        notice: ctx.notice,
        nav: Nav::None,
    };
    render(&layout, h)
}

fn group_section<S, A, Z>(
    h: &mut Html,
    inner: &Inner<S, A, Z>,
    stream: &str,
    group: &GroupView,
    token: &str,
) {
    let info = &group.info;
    h.raw("<section class=\"group\"><h2>Group <code>")
        .text(&info.name)
        .raw("</code></h2><dl class=\"facts\"><dt>Pending</dt><dd>")
        .num(info.pending)
        .raw("</dd><dt>Consumers</dt><dd>")
        .num(info.consumers)
        .raw("</dd><dt>Last delivered</dt><dd><code>")
        .text(&info.last_delivered_id)
        .raw("</code></dd><dt>Lag</dt><dd>");
    match info.lag {
        Some(lag) => h.num(lag),
        None => h.raw("<span class=\"muted\" title=\"Redis cannot tell\">unknown</span>"),
    };
    h.raw("</dd></dl>");

    h.raw("<h3>Consumers</h3>");
    if group.consumers.is_empty() {
        h.raw("<p class=\"muted\">No consumer.</p>");
    } else {
        h.raw(
            "<table class=\"consumers\"><thead><tr><th>Consumer</th><th class=\"num\">Pending</th>",
        )
        .raw("<th class=\"num\">Idle</th></tr></thead><tbody>");
        for consumer in &group.consumers {
            h.raw("<tr><td><code>")
                .text(&consumer.name)
                .raw("</code></td><td class=\"num")
                .raw(if consumer.pending > 0 { " warn" } else { "" })
                .raw("\">")
                .num(consumer.pending)
                .raw("</td><td class=\"num\">")
                .text(&html::duration(consumer.idle))
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }

    h.raw("<h3>Oldest pending entries</h3>");
    if group.pending.is_empty() {
        h.raw("<p class=\"muted\">Nothing pending.</p>");
    } else {
        h.raw("<table class=\"pending\"><thead><tr><th>Entry</th><th>Added</th><th>Consumer</th>")
            .raw(
                "<th class=\"num\">Idle</th><th class=\"num\">Deliveries</th></tr></thead><tbody>",
            );
        for entry in &group.pending {
            h.raw("<tr><td><code>")
                .text(&entry.id)
                .raw("</code></td><td>")
                .text(&html::id_time(&entry.id).unwrap_or_default())
                .raw("</td><td><code>")
                .text(&entry.consumer)
                .raw("</code></td><td class=\"num\">")
                .text(&html::duration(entry.idle))
                .raw("</td><td class=\"num")
                .raw(if entry.deliveries > 1 { " warn" } else { "" })
                .raw("\">")
                .num(entry.deliveries)
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
        if group.info.pending > group.pending.len() as u64 {
            h.raw("<p class=\"muted\">The ")
                .num(group.pending.len())
                .raw(" oldest of ")
                .num(group.info.pending)
                .raw(".</p>");
        }
    }

    let stuck: Vec<&ConsumerInfo> = group.consumers.iter().filter(|c| c.pending > 0).collect();
    if inner.actions && !stuck.is_empty() && group.consumers.len() > 1 {
        h.raw("<form class=\"claim\" method=\"post\" action=\"streams/")
            .text(&path_segment(stream))
            .raw("/claim\"><input type=\"hidden\" name=\"csrf\" value=\"")
            .text(token)
            .raw("\"><input type=\"hidden\" name=\"group\" value=\"")
            .text(&info.name)
            .raw("\"><label>Claim the pending entries of <select name=\"from\">");
        for consumer in &stuck {
            h.raw("<option value=\"")
                .text(&consumer.name)
                .raw("\">")
                .text(&consumer.name)
                .raw(" (")
                .num(consumer.pending)
                .raw(")</option>");
        }
        h.raw("</select></label> <label>for <select name=\"to\">");
        // Preselected: the first consumer other than the first stuck one.
        let first_other = group.consumers.iter().position(|c| c.name != stuck[0].name);
        for (i, consumer) in group.consumers.iter().enumerate() {
            h.raw("<option value=\"")
                .text(&consumer.name)
                .raw(if Some(i) == first_other {
                    "\" selected>"
                } else {
                    "\">"
                })
                .text(&consumer.name)
                .raw("</option>");
        }
        h.raw("</select></label> <button type=\"submit\">Claim</button></form>");
    }
    h.raw("</section>");
}

/// Entries with their payloads; with `actions`, a retry and a delete form
/// per entry (the stream's path segment and the token).
fn entries_table(
    h: &mut Html,
    entries: &[StreamEntry<IgnoredAny>],
    limit: usize,
    actions: Option<(&str, &str)>,
) {
    if entries.is_empty() {
        h.raw("<p class=\"muted\">No entries.</p>");
        return;
    }
    h.raw("<table class=\"entries\"><thead><tr><th>Entry</th><th>Added</th><th>Payload</th>");
    if actions.is_some() {
        h.raw("<th>Actions</th>");
    }
    h.raw("</tr></thead><tbody>");
    for entry in entries {
        h.raw("<tr><td><code>")
            .text(&entry.id)
            .raw("</code></td><td class=\"time\">")
            .text(&html::id_time(&entry.id).unwrap_or_default())
            .raw("</td><td>");
        html::payload(h, entry.raw.as_deref(), limit);
        h.raw("</td>");
        if let Some((segment, token)) = actions {
            h.raw("<td class=\"actions\">");
            for (action, label, class) in [
                ("retry", "Retry", "primary"),
                ("delete", "Delete", "danger"),
            ] {
                h.raw("<form method=\"post\" action=\"dead/")
                    .text(segment)
                    .raw("/")
                    .raw(action)
                    .raw("\"><input type=\"hidden\" name=\"csrf\" value=\"")
                    .text(token)
                    .raw("\"><input type=\"hidden\" name=\"id\" value=\"")
                    .text(&entry.id)
                    .raw("\"><button type=\"submit\" class=\"")
                    .raw(class)
                    .raw("\" data-action=\"")
                    .raw(action)
                    .raw("\">")
                    .raw(label)
                    .raw("</button></form>");
            }
            h.raw("</td>");
        }
        h.raw("</tr>");
    }
    h.raw("</tbody></table>");
}

/// The query of the dead letters page: the id after which the page starts.
#[derive(Debug, Deserialize)]
pub(crate) struct DeadQuery {
    after: Option<String>,
}

/// `GET /dead/{stream}`: a stream's dead-lettered entries, oldest first.
pub(crate) async fn dead_letters<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
    params: RawPathParams,
    Query(query): Query<DeadQuery>,
) -> Response {
    let Some(stream) = registered(&inner, &params) else {
        return plain(StatusCode::NOT_FOUND, "No such stream on this board.");
    };
    let Some(dead) = &stream.dead_letters else {
        return plain(
            StatusCode::NOT_FOUND,
            "This stream has no dead-letter stream on this board.",
        );
    };
    let after = query.after.filter(|id| is_entry_id(id));
    let streams = ctx.handle.streams();
    let mut range = streams
        .range::<IgnoredAny>(dead.as_str())
        .count(DEAD_PAGE + 1);
    if let Some(after) = &after {
        range = range.start(format!("({after}"));
    }
    let loaded = futures::try_join!(streams.len(dead.as_str()), range.into_future());
    let (total, mut entries) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return store_error(&ctx.base, inner.actions, &e),
    };
    let more = entries.len() > DEAD_PAGE;
    entries.truncate(DEAD_PAGE);

    let segment = path_segment(&stream.name);
    let token = ctx.token(&inner);
    let mut h = Html::new();
    h.raw("<p class=\"summary\"><span class=\"badge")
        .raw(if total > 0 { " bad" } else { "" })
        .raw("\">")
        .num(total)
        .raw(if total == 1 { " entry" } else { " entries" })
        .raw("</span> dead-lettered from <a href=\"streams/")
        .text(&segment)
        .raw("\">")
        .text(&stream.name)
        .raw("</a>. ");
    if inner.actions {
        h.raw("Retry appends an entry back to <code>")
            .text(&stream.name)
            .raw("</code> and removes it from here, in one step.");
    } else {
        h.raw("This board is read-only.");
    }
    h.raw("</p>");
    let actions = inner.actions.then_some((segment.as_str(), token.as_str()));
    entries_table(&mut h, &entries, inner.payload_limit, actions);
    if after.is_some() || more {
        h.raw("<p class=\"pages\">");
        if after.is_some() {
            h.raw("<a href=\"dead/")
                .text(&segment)
                .raw("\">First page</a> ");
        }
        if let (true, Some(last)) = (more, entries.last()) {
            h.raw("<a href=\"dead/")
                .text(&segment)
                .raw("?after=")
                .text(&last.id)
                .raw("\">Next page</a>");
        }
        h.raw("</p>");
    }
    let title = format!("Dead letters of {}", stream.name);
    let layout = Layout {
        title: &title,
        base: &ctx.base,
        actions: inner.actions,
        notice: ctx.notice,
        nav: Nav::None,
    };
    render(&layout, h)
}
