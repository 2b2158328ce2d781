//! The actions: retry and delete a dead-lettered entry, claim a consumer's
//! pending entries for another. Each is a `POST` form, checked in this
//! order: actions on (else `403`, see [`read_only`]), the request's origin
//! and token (else `403`), the stream and the form's values (else `404` or
//! `400`); then it runs and redirects (`303`) to the page it came from with
//! a fixed notice.

use std::collections::HashMap;
use std::time::Duration;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use igniter_store::Serializer;
use igniter_store::StoreActors;
use igniter_store::scope::Complete;
use igniter_store::streams::is_entry_id;
use serde::de::IgnoredAny;

use crate::html::{Notice, path_segment};
use crate::pages::{BOARD_CONSUMER, plain, registered, store_error};
use crate::{Ctx, Inner, csrf};

/// How many entries one claim takes at most.
const CLAIM_MAX: usize = 1000;

/// Every `POST` of a read-only board.
pub(crate) async fn read_only() -> Response {
    plain(StatusCode::FORBIDDEN, "This board is read-only.")
}

type Fields = Result<Form<HashMap<String, String>>, FormRejection>;

/// The form's fields, once the request's origin and token are checked.
fn checked<S, A, Z>(
    inner: &Inner<S, A, Z>,
    ctx: &Ctx<S, A, Z>,
    headers: &HeaderMap,
    form: Fields,
) -> Result<HashMap<String, String>, Refused> {
    if !csrf::same_origin(headers, ctx.authority.as_deref()) {
        tracing::warn!("a board action from another origin was refused");
        return Err(Refused(
            StatusCode::FORBIDDEN,
            "This action must come from the board's own pages.",
        ));
    }
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let token_ok = fields
        .get(csrf::FIELD)
        .is_some_and(|token| inner.csrf.verify(&ctx.tenant, token));
    if !token_ok {
        tracing::warn!("a board action without a valid token was refused");
        return Err(Refused(
            StatusCode::FORBIDDEN,
            "This action needs the token of the board's own form: reload the page and try again.",
        ));
    }
    Ok(fields)
}

/// A form's entry id, if it is one (`<ms>-<seq>`).
fn entry_id(fields: &HashMap<String, String>) -> Result<&str, Refused> {
    match fields.get("id") {
        Some(id) if is_entry_id(id) => Ok(id),
        _ => Err(Refused(StatusCode::BAD_REQUEST, "That is not an entry id.")),
    }
}

/// A request refused before it reaches the store.
#[derive(Debug)]
struct Refused(StatusCode, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        plain(self.0, self.1)
    }
}

fn back(ctx: &Ctx<impl Sized, impl Sized, impl Sized>, page: &str, notice: Notice) -> Response {
    Redirect::to(&format!("{}/{page}?done={}", ctx.base, notice.as_str())).into_response()
}

/// `POST /dead/{stream}/retry`: moves a dead-lettered entry back to its
/// stream, atomically.
pub(crate) async fn retry<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
    params: RawPathParams,
    headers: HeaderMap,
    form: Fields,
) -> Response {
    dead_letter_action(&inner, &ctx, &params, &headers, form, true).await
}

/// `POST /dead/{stream}/delete`: deletes a dead-lettered entry.
pub(crate) async fn delete<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
    params: RawPathParams,
    headers: HeaderMap,
    form: Fields,
) -> Response {
    dead_letter_action(&inner, &ctx, &params, &headers, form, false).await
}

async fn dead_letter_action<S: Complete, A: StoreActors, Z: Serializer>(
    inner: &Inner<S, A, Z>,
    ctx: &Ctx<S, A, Z>,
    params: &RawPathParams,
    headers: &HeaderMap,
    form: Fields,
    retry: bool,
) -> Response {
    let fields = match checked(inner, ctx, headers, form) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let Some(stream) = registered(inner, params) else {
        return plain(StatusCode::NOT_FOUND, "No such stream on this board.");
    };
    let Some(dead) = &stream.dead_letters else {
        return plain(
            StatusCode::NOT_FOUND,
            "This stream has no dead-letter stream on this board.",
        );
    };
    let id = match entry_id(&fields) {
        Ok(id) => id,
        Err(bad) => return bad.into_response(),
    };
    let streams = ctx.handle.streams();
    let done = if retry {
        streams
            .move_entry(dead.as_str(), id, stream.name.as_str())
            .await
            .map(|moved| {
                if moved.is_some() {
                    Notice::Retried
                } else {
                    Notice::Gone
                }
            })
    } else {
        streams
            .delete(dead.as_str(), &[id.to_owned()])
            .await
            .map(|n| if n > 0 { Notice::Deleted } else { Notice::Gone })
    };
    match done {
        Ok(notice) => {
            tracing::info!(
                action = if retry { "retry" } else { "delete" },
                outcome = notice.as_str(),
                "board action"
            );
            back(ctx, &format!("dead/{}", path_segment(&stream.name)), notice)
        }
        Err(e) => store_error(&ctx.base, inner.actions, &e),
    }
}

/// `POST /streams/{stream}/claim`: the pending entries of consumer `from`
/// of `group`, claimed for consumer `to` of the same group. Both must be
/// consumers the group has: a claim never creates one.
pub(crate) async fn claim<S: Complete, A: StoreActors, Z: Serializer>(
    State(inner): State<crate::State<S, A, Z>>,
    ctx: Ctx<S, A, Z>,
    params: RawPathParams,
    headers: HeaderMap,
    form: Fields,
) -> Response {
    let fields = match checked(&inner, &ctx, &headers, form) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let Some(stream) = registered(&inner, &params) else {
        return plain(StatusCode::NOT_FOUND, "No such stream on this board.");
    };
    let name = stream.name.as_str();
    let field = |key: &str| fields.get(key).map(String::as_str).unwrap_or_default();
    let (group_name, from, to) = (field("group"), field("from"), field("to"));
    if group_name.is_empty() || from.is_empty() || to.is_empty() || from == to {
        return plain(
            StatusCode::BAD_REQUEST,
            "A claim needs a group and two different consumers of it.",
        );
    }
    let streams = ctx.handle.streams();
    let result = async {
        // No such group (or stream): no consumers.
        let consumers = streams
            .group(group_name, BOARD_CONSUMER)
            .consumers(name)
            .await?;
        let known = |c: &str| consumers.iter().any(|info| info.name == c);
        if !known(from) || !known(to) {
            return Ok(None);
        }
        let ids: Vec<String> = streams
            .group(group_name, from)
            .pending_entries(name)
            .mine()
            .count(CLAIM_MAX)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            return Ok(Some(Notice::NothingToClaim));
        }
        let claimed = streams
            .group(group_name, to)
            .claim::<IgnoredAny>(name, &ids, Duration::ZERO)
            .await?;
        tracing::info!(action = "claim", count = claimed.len(), "board action");
        Ok(Some(if ids.len() == CLAIM_MAX {
            Notice::ClaimedSome
        } else {
            Notice::Claimed
        }))
    }
    .await;
    match result {
        Ok(Some(notice)) => back(&ctx, &format!("streams/{}", path_segment(name)), notice),
        Ok(None) => plain(
            StatusCode::NOT_FOUND,
            "No such group or consumer on this stream.",
        ),
        Err(e) => store_error(&ctx.base, inner.actions, &e),
    }
}
