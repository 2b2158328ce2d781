//! A dashboard for the job queues of [`igniter-store`](igniter_store): an
//! [`axum::Router`] to nest in your own service that shows, for one
//! tenant's handle, the streams you register with it — their length,
//! consumer groups, consumers (idle time, pending count), the oldest pending
//! entries with their delivery counts, the dead-lettered entries with their
//! payloads — and a live tail of the event channels you choose. With
//! [`Board::actions`] on, it also retries and deletes dead-lettered entries
//! and claims a stuck consumer's entries for another.
//!
//! ```
//! use axum::Router;
//! use igniter_store::{MemoryAdapter, Store, StoreScopes, events};
//! use igniter_store_board::Board;
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct Resize { width: u32 }
//! # #[derive(serde::Serialize, serde::Deserialize)] pub struct Order { id: String }
//!
//! #[derive(StoreScopes, Clone, Copy, Debug)]
//! enum Tenant {
//!     #[scope(required)]
//!     Organization,
//! }
//!
//! events! {
//!     pub jobs { resize(Resize), }
//!     pub orders { created(Order), }
//! }
//!
//! # fn main() -> Result<(), igniter_store::StoreError> {
//! let store = Store::builder()
//!     .adapter(MemoryAdapter::new())
//!     .service("api")
//!     .scopes::<Tenant>()
//!     .build()?;
//!
//! // One tenant's board: what this handle reaches, nothing else.
//! let acme = store.scope(tenant::Organization, "acme")?;
//! let board = Board::new(acme)
//!     .dead_letters(&jobs::RESIZE, "jobs:resize:dead") // the stream, and where its worker dead-letters
//!     .events(&orders::CREATED)                        // a live tail of this channel
//!     .actions(true)                                   // retry, delete, claim (off by default)
//!     .router();
//! let app: Router = Router::new().nest("/admin/board", board);
//!
//! // Or every tenant's own board, on one route: the handle is made from the
//! // path parameter for each request.
//! let boards = Board::per_tenant("tenant", move |id| store.scope(tenant::Organization, id))
//!     .dead_letters(&jobs::RESIZE, "jobs:resize:dead")
//!     .router();
//! let app = app.nest("/tenants/{tenant}/board", boards);
//! # let _ = app; Ok(()) }
//! ```
//!
//! # What a board shows, and what it never shows
//!
//! A board reads through one store handle (per request, for
//! [`Board::per_tenant`]), so it sees the keys and channels of that scope
//! and no other: mounted per tenant, a tenant sees only its own streams and
//! events. Its pages name streams, groups, consumers and channels as you
//! wrote them, never a Redis key, the service name, a scope identifier of
//! the store or a secret; the one identifier in a page is the mount path the
//! browser asked for. Every piece of text is HTML-escaped, payloads
//! included (shown as JSON, cut at [`Board::payload_limit`]).
//!
//! The pages are HTML rendered on the server and work without JavaScript;
//! the live tail of events uses a small script and server-sent events. The
//! stylesheet and the script are part of this crate and served by the
//! router itself (`assets/`): the board works on a machine with no internet.
//!
//! # Actions
//!
//! Off unless [`Board::actions`] turns them on; a read-only board answers
//! `403` to every `POST`. Each action is a `POST` form that carries a token
//! (an HMAC, under a random secret made when the router is built, of the
//! tenant the board is mounted for: one tenant's token is worth nothing on
//! another's board), compared in constant time, and the request must come
//! from the board's own origin by the browser's `Sec-Fetch-Site` (or, for
//! browsers without it, by `Origin` against `Host`). Anything else is `403`.
//!
//! - **Retry** a dead-lettered entry: [`Streams::move_entry`] appends it back
//!   to its stream and deletes it from the dead letters in one atomic step,
//!   so it can be neither lost nor doubled (a second click finds it gone).
//! - **Delete** a dead-lettered entry ([`Streams::delete`]).
//! - **Claim** the pending entries of one consumer of a group for another
//!   consumer of the same group ([`Group::claim`](igniter_store::streams::Group::claim)).
//!
//! A board has no authentication of its own: mount it behind yours.
//!
//! # Telemetry
//!
//! Each request runs in a `tracing` span `igniter_store_board.request` with
//! the method, the route pattern (`/streams/{board_stream}`, never the path
//! itself) and the status; the store operations it runs have their own
//! spans, which hold no identifier either.
//!
//! [`Streams::move_entry`]: igniter_store::streams::Streams::move_entry
//! [`Streams::delete`]: igniter_store::streams::Streams::delete

mod actions;
mod csrf;
mod html;
mod pages;
mod tail;

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, OriginalUri, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use igniter_store::actor::NoActors;
use igniter_store::events::{Channel, EventRegistry};
use igniter_store::scope::Complete;
use igniter_store::streams::AnyStream;
use igniter_store::{JsonSerializer, Serializer, Store, StoreActors, StoreResult};
use tracing::Instrument;

use crate::csrf::Csrf;

/// How many bytes of a payload a page shows by default.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 4096;

/// A board: what to show, for which handle, and whether actions are on.
/// Build it with [`Board::new`] (one handle) or [`Board::per_tenant`] (a
/// handle per request, from a path parameter), register streams and
/// channels, and turn it into a router with [`Board::router`].
///
/// `S`, `A` and `Z` are the handle's: a board is generic over the store
/// handle, so a handle scoped to one tenant gives a board of that tenant.
/// Any handle that lacks no required scope will do (see
/// [`Complete`]): an organization, a deeper scope, a dynamic handle.
pub struct Board<S, A = NoActors, Z = JsonSerializer> {
    source: Source<S, A, Z>,
    streams: Vec<Registered>,
    channels: Vec<Channel<serde_json::Value>>,
    actions: bool,
    payload_limit: usize,
}

type Resolve<S, A, Z> = dyn Fn(&str) -> StoreResult<Store<S, A, Z>> + Send + Sync;

enum Source<S, A, Z> {
    Handle(Store<S, A, Z>),
    PerTenant {
        param: String,
        resolve: Arc<Resolve<S, A, Z>>,
    },
}

/// A registered stream: its name, and the stream its worker dead-letters to.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub(crate) name: String,
    pub(crate) dead_letters: Option<String>,
}

impl<S, A, Z> fmt::Debug for Board<S, A, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Handle(_) => "handle",
            Source::PerTenant { .. } => "per tenant",
        };
        f.debug_struct("Board")
            .field("source", &source)
            .field("streams", &self.streams.len())
            .field("channels", &self.channels.len())
            .field("actions", &self.actions)
            .field("payload_limit", &self.payload_limit)
            .finish()
    }
}

impl<S: Complete, A: StoreActors, Z: Serializer> Board<S, A, Z> {
    fn with_source(source: Source<S, A, Z>) -> Self {
        Board {
            source,
            streams: Vec::new(),
            channels: Vec::new(),
            actions: false,
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
        }
    }

    /// A board of what `handle` reaches: mount its router where only the
    /// people of that tenant (or your operators) get.
    pub fn new(handle: Store<S, A, Z>) -> Self {
        Board::with_source(Source::Handle(handle))
    }

    /// A board for every tenant, on one route: nest its router at a path
    /// with the parameter `param` (`/tenants/{tenant}/board` for
    /// `"tenant"`), and each request is served with the handle `resolve`
    /// makes from that parameter's value (percent-decoded), typically
    /// `store.scope(tenant::Organization, id)`. A request for which
    /// `resolve` fails gets `404`.
    ///
    /// Everything else is shared: the registered streams and channels,
    /// whether actions are on, and the secret the tokens are made with (each
    /// tenant's token is its own). Deciding who may see which tenant's board
    /// is your authentication's job, in front of the board.
    ///
    /// The board's own path parameter is `board_stream`: do not use it in
    /// the mount path.
    pub fn per_tenant<F>(param: impl Into<String>, resolve: F) -> Self
    where
        F: Fn(&str) -> StoreResult<Store<S, A, Z>> + Send + Sync + 'static,
    {
        Board::with_source(Source::PerTenant {
            param: param.into(),
            resolve: Arc::new(resolve),
        })
    }

    /// Shows `stream`: its length, newest entries, consumer groups (every
    /// group the stream has), consumers and oldest pending entries. A
    /// stream registered twice is shown once.
    pub fn stream(mut self, stream: &(impl AnyStream + ?Sized)) -> Self {
        self.register(stream.stream_name());
        self
    }

    /// Shows `stream` (as [`Board::stream`]) and the entries of
    /// `dead_letters`, the stream its worker dead-letters to (the one given
    /// to [`WorkerBuilder::dead_letter`](igniter_store::streams::WorkerBuilder::dead_letter)).
    /// A retried entry goes back to `stream`, in one atomic step
    /// ([`Streams::move_entry`](igniter_store::streams::Streams::move_entry)).
    /// On Redis Cluster the two streams must share a slot: give the store
    /// [`scope_hash_tag`](igniter_store::StoreBuilder::scope_hash_tag), or
    /// every retry fails with `STORE_STREAM_CROSS_SLOT` (and nothing moves).
    pub fn dead_letters(
        mut self,
        stream: &(impl AnyStream + ?Sized),
        dead_letters: &(impl AnyStream + ?Sized),
    ) -> Self {
        let index = self.register(stream.stream_name());
        self.streams[index].dead_letters = Some(dead_letters.stream_name().to_owned());
        self
    }

    fn register(&mut self, name: &str) -> usize {
        match self.streams.iter().position(|s| s.name == name) {
            Some(index) => index,
            None => {
                self.streams.push(Registered {
                    name: name.to_owned(),
                    dead_letters: None,
                });
                self.streams.len() - 1
            }
        }
    }

    /// Adds `channel` to the live tail of events. Payloads are shown as the
    /// JSON they were published as, whatever their type.
    pub fn events<T>(mut self, channel: &Channel<T>) -> Self {
        self.add_channel(channel.namespace(), channel.name());
        self
    }

    /// Adds every channel of a namespace (`orders::REGISTRY`) to the live
    /// tail of events.
    pub fn event_namespace(mut self, registry: EventRegistry) -> Self {
        for channel in registry.channels() {
            self.add_channel(registry.namespace(), channel.name());
        }
        self
    }

    fn add_channel(&mut self, namespace: &'static str, name: &'static str) {
        if !self.channels.iter().any(|c| c.name() == name) {
            self.channels.push(Channel::new(namespace, name));
        }
    }

    /// Turns the actions (retry, delete, claim) on or off; off by default,
    /// and then every `POST` is answered `403`.
    pub fn actions(mut self, on: bool) -> Self {
        self.actions = on;
        self
    }

    /// How many bytes of a payload a page shows (4 KiB by default, at least
    /// 64); a longer one is cut and marked "truncated".
    pub fn payload_limit(mut self, bytes: usize) -> Self {
        self.payload_limit = bytes.max(64);
        self
    }

    /// The router: nest it in your service (`Router::nest("/board", ..)`).
    ///
    /// | route | what it is |
    /// |---|---|
    /// | `GET /` | every registered stream: length, groups, pending, dead letters |
    /// | `GET /streams/{stream}` | one stream: groups, consumers, oldest pending entries, newest entries |
    /// | `GET /dead/{stream}` | the dead-lettered entries of a stream, with their payloads |
    /// | `GET /events` | the live tail of the registered channels |
    /// | `GET /events/stream` | the same as `text/event-stream` |
    /// | `POST /dead/{stream}/retry`, `/dead/{stream}/delete` | the actions on one dead-lettered entry (form: `id`, `csrf`) |
    /// | `POST /streams/{stream}/claim` | claims one consumer's pending entries for another (form: `group`, `from`, `to`, `csrf`) |
    /// | `GET /assets/board.css`, `/assets/board.js` | the stylesheet and the live tail's script |
    ///
    /// Every response carries a strict `Content-Security-Policy` (the
    /// board's own scripts and styles only), `X-Content-Type-Options:
    /// nosniff`, `Referrer-Policy: same-origin` and, for pages,
    /// `Cache-Control: no-store`.
    ///
    /// # Panics
    ///
    /// When the operating system has no randomness for the board's secret.
    pub fn router(self) -> Router {
        let inner = Arc::new(Inner {
            source: self.source,
            streams: self.streams,
            channels: self.channels,
            actions: self.actions,
            payload_limit: self.payload_limit,
            csrf: Csrf::random(),
        });
        let mut router = Router::new()
            .route("/", get(pages::overview::<S, A, Z>))
            .route("/streams/{board_stream}", get(pages::stream::<S, A, Z>))
            .route("/dead/{board_stream}", get(pages::dead_letters::<S, A, Z>))
            .route("/events", get(tail::page::<S, A, Z>))
            .route("/events/stream", get(tail::stream::<S, A, Z>));
        router = if inner.actions {
            router
                .route(
                    "/dead/{board_stream}/retry",
                    post(actions::retry::<S, A, Z>),
                )
                .route(
                    "/dead/{board_stream}/delete",
                    post(actions::delete::<S, A, Z>),
                )
                .route(
                    "/streams/{board_stream}/claim",
                    post(actions::claim::<S, A, Z>),
                )
        } else {
            router
                .route("/dead/{board_stream}/retry", post(actions::read_only))
                .route("/dead/{board_stream}/delete", post(actions::read_only))
                .route("/streams/{board_stream}/claim", post(actions::read_only))
        };
        router
            .route_layer(middleware::from_fn(trace))
            .route("/assets/board.css", get(assets::css))
            .route("/assets/board.js", get(assets::js))
            .layer(middleware::map_response(security_headers))
            .with_state(inner)
    }
}

/// What the handlers share.
pub(crate) struct Inner<S, A, Z> {
    source: Source<S, A, Z>,
    pub(crate) streams: Vec<Registered>,
    pub(crate) channels: Vec<Channel<serde_json::Value>>,
    pub(crate) actions: bool,
    pub(crate) payload_limit: usize,
    pub(crate) csrf: Csrf,
}

impl<S, A, Z> Inner<S, A, Z> {
    /// The registered stream named `name`.
    pub(crate) fn registered(&self, name: &str) -> Option<&Registered> {
        self.streams.iter().find(|s| s.name == name)
    }
}

pub(crate) type State<S, A, Z> = Arc<Inner<S, A, Z>>;

/// What every board request starts with: the handle it reads through, the
/// mount path, and the tenant its token is made for.
pub(crate) struct Ctx<S, A, Z> {
    pub(crate) handle: Store<S, A, Z>,
    /// The mount path, without a trailing slash (`""` at the root).
    pub(crate) base: String,
    /// The tenant the token is made for (`""` for a board of one handle).
    pub(crate) tenant: String,
    /// The `done` notice of the last action, if the query has one.
    pub(crate) notice: Option<html::Notice>,
    /// The authority of the request URI (HTTP/2 has no `Host`).
    pub(crate) authority: Option<String>,
}

impl<S, A, Z> Ctx<S, A, Z> {
    /// The token of the action forms; empty on a read-only board, which has
    /// no forms (and refuses every POST).
    pub(crate) fn token(&self, inner: &Inner<S, A, Z>) -> String {
        if inner.actions {
            inner.csrf.token(&self.tenant)
        } else {
            String::new()
        }
    }
}

impl<S, A, Z> FromRequestParts<State<S, A, Z>> for Ctx<S, A, Z>
where
    S: Complete,
    A: StoreActors,
    Z: Serializer,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &State<S, A, Z>,
    ) -> Result<Self, Self::Rejection> {
        let (handle, tenant) = match &state.source {
            Source::Handle(handle) => (handle.clone(), String::new()),
            Source::PerTenant { param, resolve } => {
                let params = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(IntoResponse::into_response)?;
                let Some(id) = params.iter().find(|(k, _)| k == param).map(|(_, v)| v) else {
                    tracing::error!(
                        "the board's tenant parameter is not in the path it is nested at"
                    );
                    return Err(pages::plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The board is mounted at a path without its tenant parameter.",
                    ));
                };
                match resolve(id) {
                    Ok(handle) => (handle, id.to_owned()),
                    Err(_) => {
                        return Err(pages::plain(StatusCode::NOT_FOUND, "No such board."));
                    }
                }
            }
        };
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let base = base_path(original.path(), parts.uri.path());
        let notice = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("done="))
                .and_then(html::Notice::parse)
        });
        Ok(Ctx {
            handle,
            base,
            tenant,
            notice,
            authority: original.authority().map(|a| a.as_str().to_owned()),
        })
    }
}

/// The path the board is mounted at: the request's whole path less the part
/// the board's own router saw, without a trailing slash.
fn base_path(original: &str, inner: &str) -> String {
    let base = if inner == "/" {
        original.trim_end_matches('/')
    } else {
        original.strip_suffix(inner).unwrap_or("")
    };
    // A base of `//host/..` (or `/\\host/..`, which browsers read alike)
    // would make every relative link leave the site.
    let trimmed = base.trim_start_matches(['/', '\\']);
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The request's span: method, route pattern, status. No identifier: the
/// route is the pattern the request matched, not its path.
async fn trace(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = matched.as_ref().map_or("", MatchedPath::as_str);
    let span = tracing::info_span!(
        "igniter_store_board.request",
        method = %request.method(),
        route,
        status = tracing::field::Empty,
    );
    async move {
        let response = next.run(request).await;
        tracing::Span::current().record("status", response.status().as_u16());
        tracing::debug!(status = response.status().as_u16(), "board request");
        response
    }
    .instrument(span)
    .await
}

/// The headers every response of the board carries.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
             img-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The stylesheet and the script, embedded in the crate.
mod assets {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;

    const CSS: &str = include_str!("../assets/board.css");
    const JS: &str = include_str!("../assets/board.js");

    fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            body,
        )
    }

    pub(crate) async fn css() -> impl IntoResponse {
        asset("text/css; charset=utf-8", CSS)
    }

    pub(crate) async fn js() -> impl IntoResponse {
        asset("text/javascript; charset=utf-8", JS)
    }
}

#[cfg(test)]
mod tests {
    use super::base_path;

    #[test]
    fn base_paths() {
        assert_eq!(base_path("/tenants/acme/board", "/"), "/tenants/acme/board");
        assert_eq!(
            base_path("/tenants/acme/board/streams/jobs", "/streams/jobs"),
            "/tenants/acme/board"
        );
        assert_eq!(base_path("/", "/"), "");
        assert_eq!(base_path("/streams/jobs", "/streams/jobs"), "");
        assert_eq!(
            base_path("//evil.example/board", "/"),
            "/evil.example/board"
        );
        assert_eq!(
            base_path("/\\evil.example/board", "/"),
            "/evil.example/board"
        );
        assert_eq!(
            base_path("\\/\\evil.example/board", "/"),
            "/evil.example/board"
        );
    }
}
