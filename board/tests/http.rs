//! The board over plain HTTP (no browser), on the memory adapter: what each
//! tenant's board shows and never shows, the refusals of the actions
//! (read-only, no token, another origin, another tenant's token), the
//! actions themselves, escaping and the payload cap.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use futures::StreamExt;
use igniter_store::{MemoryAdapter, Store, StoreScopes, events};
use igniter_store_board::Board;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Note {
    text: String,
}

events! {
    pub jobs { run(Job), }
    pub notes { posted(Note), }
}

const SERVICE: &str = "board-http-test";
const DEAD: &str = "jobs:run:dead";

type Root = Store<Tenant>;

fn store() -> Root {
    Store::builder()
        .adapter(MemoryAdapter::new())
        .service(SERVICE)
        .scopes::<Tenant>()
        .build()
        .unwrap()
}

/// A board per tenant at `/tenants/{tenant}/board`, and acme's own board
/// (one handle) at `/acme-board`.
fn app(store: &Root, actions: bool) -> Router {
    let root = store.clone();
    let per_tenant = Board::per_tenant("tenant", move |id| root.scope(tenant::Organization, id))
        .dead_letters(&jobs::RUN, DEAD)
        .events(&notes::POSTED)
        .actions(actions)
        .payload_limit(256)
        .router();
    let acme = Board::new(store.scope(tenant::Organization, "acme").unwrap())
        .dead_letters(&jobs::RUN, DEAD)
        .event_namespace(notes::REGISTRY)
        .actions(actions)
        .router();
    Router::new()
        .nest("/tenants/{tenant}/board", per_tenant)
        .nest("/acme-board", acme)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(app: &Router, path: &str) -> Reply {
    let request = Request::get(path)
        .header(header::HOST, "board.test")
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

/// A form `POST` as a browser sends it from the board's own page.
async fn post(app: &Router, path: &str, form: &str) -> Reply {
    post_with(app, path, form, &[("sec-fetch-site", "same-origin")]).await
}

async fn post_with(app: &Router, path: &str, form: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::post(path)
        .header(header::HOST, "board.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::from(form.to_owned())).unwrap()).await
}

/// The token in a page's forms.
fn token(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no form with a token in:\n{page}"));
    let start = at + "name=\"csrf\" value=\"".len();
    page[start..start + 64].to_owned()
}

/// What a response must never hold, whatever the tenant.
fn assert_no_internals(reply: &Reply) {
    for internal in ["igniter:store", SERVICE, "organization:"] {
        assert!(
            !reply.body.contains(internal),
            "{internal:?} in a response:\n{}",
            reply.body
        );
    }
}

/// acme has jobs, a dead-lettered job and a pending entry; globex has
/// nothing of its own but the same stream names.
async fn seed(store: &Root) {
    let acme = store.scope(tenant::Organization, "acme").unwrap();
    let streams = acme.streams();
    streams
        .append(
            &jobs::RUN,
            &Job {
                name: "acme-job-visible".into(),
            },
        )
        .await
        .unwrap();
    streams
        .append(
            DEAD,
            &Job {
                name: "acme-dead-letter".into(),
            },
        )
        .await
        .unwrap();
    let group = streams.group("runners", "runner-1");
    group.ensure(&jobs::RUN).await.unwrap();
    let read = group.read(&jobs::RUN).count(10).await.unwrap();
    assert_eq!(read.len(), 1);
}

#[tokio::test]
async fn each_tenant_sees_only_its_own() {
    let store = store();
    seed(&store).await;
    let app = app(&store, true);

    // acme's board, per tenant and as a board of its handle.
    for base in ["/tenants/acme/board", "/acme-board"] {
        let overview = get(&app, base).await;
        assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
        assert!(overview.body.contains("jobs:run"), "{}", overview.body);
        assert_no_internals(&overview);
        let dead = get(&app, &format!("{base}/dead/jobs:run")).await;
        assert_eq!(dead.status, StatusCode::OK);
        assert!(dead.body.contains("acme-dead-letter"), "{}", dead.body);
        assert_no_internals(&dead);
        let stream = get(&app, &format!("{base}/streams/jobs%3Arun")).await;
        assert_eq!(stream.status, StatusCode::OK);
        assert!(stream.body.contains("acme-job-visible"), "{}", stream.body);
        assert_no_internals(&stream);
    }

    // globex's board: the same pages, none of acme's data.
    for path in [
        "/tenants/globex/board",
        "/tenants/globex/board/dead/jobs:run",
        "/tenants/globex/board/streams/jobs:run",
        "/tenants/globex/board/events",
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        for acme in ["acme", "runner-1", "runners"] {
            assert!(
                !page.body.contains(acme),
                "{acme:?} on {path}:\n{}",
                page.body
            );
        }
        assert_no_internals(&page);
    }

    // A stream that is not registered, and a tenant the resolver refuses.
    assert_eq!(
        get(&app, "/tenants/acme/board/streams/secrets")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/tenants/acme/board/dead/secrets").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The events of one tenant reach its own tail, never another's.
#[tokio::test]
async fn the_live_tail_is_per_tenant() {
    let store = store();
    let app = app(&store, false);
    let open = |tenant: &str| {
        let request = Request::get(format!("/tenants/{tenant}/board/events/stream"))
            .header(header::HOST, "board.test")
            .body(Body::empty())
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/event-stream"
            );
            Box::pin(response.into_body().into_data_stream())
        }
    };
    let mut acme = open("acme").await;
    let mut globex = open("globex").await;
    // The first chunk of each: the `subscribed` comment, once subscribed.
    for body in [&mut acme, &mut globex] {
        let first = body.next().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("subscribed"));
    }
    let org = store.scope(tenant::Organization, "acme").unwrap();
    org.events()
        .publish(
            &notes::POSTED,
            &Note {
                text: "<b>acme-event</b>".into(),
            },
        )
        .await
        .unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), acme.next())
        .await
        .expect("acme's tail gets the event")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("event: board-event\n"), "{text}");
    let data: serde_json::Value =
        serde_json::from_str(text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["channel"], "notes:posted");
    assert!(
        data["payload"]
            .as_str()
            .unwrap()
            .contains("<b>acme-event</b>"),
        "{data}"
    );
    assert!(!text.contains("acme\""), "no scope identifier: {text}");
    let nothing = tokio::time::timeout(Duration::from_millis(300), globex.next()).await;
    assert!(nothing.is_err(), "globex's tail got {nothing:?}");
}

#[tokio::test]
async fn a_read_only_board_refuses_every_post() {
    let store = store();
    seed(&store).await;
    let app = app(&store, false);
    let dead = get(&app, "/tenants/acme/board/dead/jobs:run").await;
    assert!(!dead.body.contains("<form"), "no forms: {}", dead.body);
    assert!(dead.body.contains("read-only"));
    for path in [
        "/tenants/acme/board/dead/jobs:run/retry",
        "/tenants/acme/board/dead/jobs:run/delete",
        "/tenants/acme/board/streams/jobs:run/claim",
        "/acme-board/dead/jobs:run/retry",
    ] {
        let reply = post(&app, path, "id=1-0&csrf=x").await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing moved.
    let acme = store.scope(tenant::Organization, "acme").unwrap();
    assert_eq!(acme.streams().len(DEAD).await.unwrap(), 1);
}

#[tokio::test]
async fn actions_need_the_token_and_the_same_origin() {
    let store = store();
    seed(&store).await;
    // globex has a dead letter too, so its page has forms (and a token).
    let globex = store.scope(tenant::Organization, "globex").unwrap();
    globex
        .streams()
        .append(DEAD, &Job { name: "g".into() })
        .await
        .unwrap();
    let app = app(&store, true);
    let page = get(&app, "/tenants/acme/board/dead/jobs:run").await;
    let acme_token = token(&page.body);
    let globex_token = token(&get(&app, "/tenants/globex/board/dead/jobs:run").await.body);
    assert_ne!(acme_token, globex_token, "a token per tenant");
    let own_token = token(&get(&app, "/acme-board/dead/jobs:run").await.body);
    assert_ne!(acme_token, own_token, "a token per board");
    let id = "0-1";
    let retry = "/tenants/acme/board/dead/jobs:run/retry";

    let refused = [
        // no token
        post(&app, retry, &format!("id={id}")).await,
        // an empty body
        post(&app, retry, "").await,
        // a wrong token
        post(&app, retry, &format!("id={id}&csrf={}", "0".repeat(64))).await,
        // another tenant's token
        post(&app, retry, &format!("id={id}&csrf={globex_token}")).await,
        // another board's token
        post(&app, retry, &format!("id={id}&csrf={own_token}")).await,
        // the right token, from another site
        post_with(
            &app,
            retry,
            &format!("id={id}&csrf={acme_token}"),
            &[("sec-fetch-site", "cross-site")],
        )
        .await,
        post_with(
            &app,
            retry,
            &format!("id={id}&csrf={acme_token}"),
            &[("origin", "https://evil.test")],
        )
        .await,
        post_with(
            &app,
            retry,
            &format!("id={id}&csrf={acme_token}"),
            &[("origin", "null")],
        )
        .await,
    ];
    for (i, reply) in refused.iter().enumerate() {
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "case {i}: {}",
            reply.body
        );
    }
    // The right token from the same origin (by `Origin`, no `Sec-Fetch-Site`)
    // gets through to the checks of the form: this id is no entry.
    let reply = post_with(
        &app,
        retry,
        &format!("id=not-an-id&csrf={acme_token}"),
        &[("origin", "http://board.test")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // A signed number is no entry id either (the store refuses it): a 400,
    // not the store's error page.
    let reply = post_with(
        &app,
        retry,
        &format!("id=%2B5-0&csrf={acme_token}"),
        &[("origin", "http://board.test")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test]
async fn payloads_are_escaped_and_capped() {
    let store = store();
    let acme = store.scope(tenant::Organization, "acme").unwrap();
    let hostile = "<script>alert('board')</script><img src=x onerror=alert(1)>";
    acme.streams()
        .append(
            DEAD,
            &Job {
                name: hostile.into(),
            },
        )
        .await
        .unwrap();
    let long = "z".repeat(10_000);
    acme.streams()
        .append(DEAD, &Job { name: long.clone() })
        .await
        .unwrap();
    // Not JSON at all, as another client might write it.
    let key = acme.streams().key(DEAD).unwrap();
    acme.adapter()
        .xadd(&key, "<not json & not safe>".into(), None)
        .await
        .unwrap();

    let app = app(&store, true);
    let page = get(&app, "/tenants/acme/board/dead/jobs:run").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<img src=x"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(&#39;board&#39;)&lt;/script&gt;"),
        "{body}"
    );
    assert!(body.contains("&lt;not json &amp; not safe&gt;"), "{body}");
    // The long payload: cut at the limit (256 bytes here), and said so.
    assert!(body.contains("truncated"), "{body}");
    assert!(!body.contains(&"z".repeat(300)), "capped");
    assert!(body.contains(&"z".repeat(200)), "shown up to the cap");
    // The only script a page may run is the board's own.
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn assets_are_served_by_the_board() {
    let store = store();
    let app = app(&store, false);
    let css = get(&app, "/tenants/acme/board/assets/board.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let js = get(&app, "/acme-board/assets/board.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.contains("EventSource"));
    // Pages link them relative to the board's mount, through `<base>`.
    let page = get(&app, "/tenants/acme/board").await;
    assert!(
        page.body.contains("<base href=\"/tenants/acme/board/\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"assets/board.css\""));
    assert!(
        !page.body.contains("http://"),
        "no outside URL: {}",
        page.body
    );
    assert!(
        !page.body.contains("https://"),
        "no outside URL: {}",
        page.body
    );
}

/// The path a `303` sends the browser to.
fn location(reply: &Reply) -> &str {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.headers[header::LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn retry_moves_an_entry_back_once_and_delete_removes_one() {
    let store = store();
    seed(&store).await;
    let acme = store.scope(tenant::Organization, "acme").unwrap();
    let second = acme
        .streams()
        .append(
            DEAD,
            &Job {
                name: "second".into(),
            },
        )
        .await
        .unwrap();
    let app = app(&store, true);
    let page = get(&app, "/tenants/acme/board/dead/jobs:run").await;
    let csrf = token(&page.body);
    let first = acme.streams().range::<Job>(DEAD).await.unwrap()[0]
        .id
        .clone();
    assert!(page.body.contains(&format!("value=\"{first}\"")));

    let retry = "/tenants/acme/board/dead/jobs:run/retry";
    let reply = post(&app, retry, &format!("id={first}&csrf={csrf}")).await;
    assert_eq!(
        location(&reply),
        "/tenants/acme/board/dead/jobs:run?done=retried"
    );
    let back: Vec<String> = acme
        .streams()
        .range::<Job>(&jobs::RUN)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data.unwrap().name)
        .collect();
    assert_eq!(back, ["acme-job-visible", "acme-dead-letter"]);
    assert_eq!(acme.streams().len(DEAD).await.unwrap(), 1);
    let page = get(&app, "/tenants/acme/board/dead/jobs:run?done=retried").await;
    assert!(page.body.contains("appended back to its stream"));
    assert!(!page.body.contains("acme-dead-letter"), "{}", page.body);

    // Retried again (a double click, a second tab): gone, nothing doubled.
    let reply = post(&app, retry, &format!("id={first}&csrf={csrf}")).await;
    assert!(location(&reply).ends_with("?done=gone"));
    assert_eq!(acme.streams().len(&jobs::RUN).await.unwrap(), 2);

    // globex's board cannot reach acme's entry, even with globex's token.
    let globex_page = get(&app, "/tenants/globex/board/dead/jobs:run").await;
    assert!(!globex_page.body.contains(&second));
    let delete = "/tenants/acme/board/dead/jobs:run/delete";
    let reply = post(&app, delete, &format!("id={second}&csrf={csrf}")).await;
    assert!(location(&reply).ends_with("?done=deleted"));
    assert_eq!(acme.streams().len(DEAD).await.unwrap(), 0);
    let reply = post(&app, delete, &format!("id={second}&csrf={csrf}")).await;
    assert!(location(&reply).ends_with("?done=gone"));
}

#[tokio::test]
async fn the_stream_page_shows_groups_consumers_pending_and_claims() {
    let store = store();
    seed(&store).await;
    let acme = store.scope(tenant::Organization, "acme").unwrap();
    // A second consumer that read nothing yet exists once it claims or
    // reads: make it read an empty batch after a new entry is taken.
    acme.streams()
        .append(&jobs::RUN, &Job { name: "two".into() })
        .await
        .unwrap();
    let other = acme.streams().group("runners", "runner-2");
    assert_eq!(other.read(&jobs::RUN).count(1).await.unwrap().len(), 1);

    let app = app(&store, true);
    let page = get(&app, "/tenants/acme/board/streams/jobs:run").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Group <code>runners</code>",
        "<code>runner-1</code>",
        "<code>runner-2</code>",
        "Oldest pending entries",
        "Claim the pending entries of",
    ] {
        assert!(page.body.contains(shown), "{shown:?} in:\n{}", page.body);
    }
    let csrf = token(&page.body);
    let claim = "/tenants/acme/board/streams/jobs:run/claim";
    let reply = post(
        &app,
        claim,
        &format!("group=runners&from=runner-1&to=runner-2&csrf={csrf}"),
    )
    .await;
    assert_eq!(
        location(&reply),
        "/tenants/acme/board/streams/jobs:run?done=claimed"
    );
    let pending = acme
        .streams()
        .group("runners", "runner-2")
        .pending_entries(&jobs::RUN)
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|p| p.consumer == "runner-2"));
    // runner-1 has nothing left to claim.
    let reply = post(
        &app,
        claim,
        &format!("group=runners&from=runner-1&to=runner-2&csrf={csrf}"),
    )
    .await;
    assert!(location(&reply).ends_with("?done=nothing-to-claim"));
    // A consumer the group does not have is never created by a claim.
    let reply = post(
        &app,
        claim,
        &format!("group=runners&from=runner-2&to=intruder&csrf={csrf}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = post(
        &app,
        claim,
        &format!("group=nope&from=runner-2&to=runner-1&csrf={csrf}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let consumers = acme
        .streams()
        .group("runners", "x")
        .consumers(&jobs::RUN)
        .await
        .unwrap();
    let names: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["runner-1", "runner-2"]);
}
