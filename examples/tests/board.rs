//! The board example, served in process on a free port:
//!
//! - over plain HTTP (`reqwest`), on memory and on a Redis the test starts:
//!   a job that fails is dead-lettered, retried from the board with the
//!   form's token, and sent; the other tenant's board shows none of it;
//! - in a real browser (Debian's `chromium`, headless, through
//!   `chromedriver`), on Redis: the board shows the dead-lettered job, a
//!   click on "Retry" gets it sent, a published event appears in the live
//!   tail, and the other tenant's board shows none of it. With
//!   `IGNITER_STORE_BOARD_SCREENSHOTS=1` it saves the pages it sees to
//!   `board/screenshots/` (the board's README shows them);
//! - the binary serves the board and stops on Ctrl-C.
//!
//! Without `chromium` and `chromedriver` the browser test fails with an
//! install hint, unless `IGNITER_STORE_SKIP_BROWSER_TESTS=1` skips it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use igniter_store::adapter::Backend;
use igniter_store::{MemoryAdapter, RedisAdapter, StoreAdapter};
use igniter_store_examples::axum_service::{bind, serve};
use igniter_store_examples::board::{
    self, AppStore, DEAD_LETTERS, Email, OrgStore, SENT, Sent, mail, tenant,
};
use reqwest::StatusCode;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The environment variable that skips the browser test.
const SKIP_BROWSER_ENV: &str = "IGNITER_STORE_SKIP_BROWSER_TESTS";
/// The environment variable that saves the browser's screenshots.
const SCREENSHOTS_ENV: &str = "IGNITER_STORE_BOARD_SCREENSHOTS";
/// How long anything awaited may take.
const WAIT: Duration = Duration::from_secs(15);

/// The example, served in process until dropped, with the workers of two
/// tenants.
struct Service {
    url: String,
    store: AppStore,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Service {
    async fn start(adapter: Backend, tenants: [&str; 2]) -> Service {
        let store = board::store(adapter).unwrap();
        for id in tenants {
            let org = store.scope(tenant::Organization, id).unwrap();
            // Leftovers of an earlier run on the same Redis.
            org.purge().await.unwrap();
            board::spawn_worker(org, "mailer-1");
        }
        let listener = bind(0).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, board::router(store.clone()), async move {
            let _ = stopped.await;
        }));
        Service {
            url,
            store,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn org(&self, id: &str) -> OrgStore {
        self.store.scope(tenant::Organization, id).unwrap()
    }

    /// Queues an email over HTTP.
    async fn queue(&self, tenant: &str, to: &str, subject: &str, fail_first: u32) {
        let email = Email {
            to: to.into(),
            subject: subject.into(),
            fail_first,
        };
        let response = reqwest::Client::new()
            .post(format!("{}/tenants/{tenant}/emails", self.url))
            .header("content-type", "application/json")
            .body(serde_json::to_string(&email).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }

    /// Waits until `tenant`'s stream `stream` holds `len` entries.
    async fn wait_len(&self, tenant: &str, stream: &str, len: u64) {
        let org = self.org(tenant);
        let deadline = Instant::now() + WAIT;
        loop {
            let now = org.streams().len(stream).await.unwrap();
            if now == len {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{stream} of {tenant}: {now} entries, not {len}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        self.store.close().await.unwrap();
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn redis_backend() -> Option<Backend> {
    if common::redis::skip_redis() {
        return None;
    }
    let url = common::redis::shared().url();
    Some(RedisAdapter::connect(&url).await.unwrap().into_backend())
}

/// The text after `marker` in `page`, up to the next `"`.
fn attribute_after<'a>(page: &'a str, marker: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{page}"))
        + marker.len();
    let end = page[at..].find('"').unwrap() + at;
    &page[at..end]
}

/// A job that fails twice is dead-lettered; the board retries it (a `POST`
/// with the page's token, from the page's origin) and the worker sends it;
/// the other tenant's board shows nothing of it.
async fn retry_over_http(service: Service, tenants: [&str; 2]) {
    let [mine, other] = tenants;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    service
        .queue(mine, "ada@example.com", "welcome-ada", 2)
        .await;
    service.wait_len(mine, DEAD_LETTERS, 1).await;

    let board = format!("{}/tenants/{mine}/board", service.url);
    let page = client
        .get(format!("{board}/dead/jobs:send"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("welcome-ada"), "{page}");
    let csrf = attribute_after(&page, "name=\"csrf\" value=\"").to_owned();
    let id = attribute_after(&page, "name=\"id\" value=\"").to_owned();

    let response = client
        .post(format!("{board}/dead/jobs:send/retry"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &service.url)
        .body(format!("id={id}&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/tenants/{mine}/board/dead/jobs:send?done=retried")
    );
    service.wait_len(mine, SENT, 1).await;
    service.wait_len(mine, DEAD_LETTERS, 0).await;
    let sent = service
        .org(mine)
        .streams()
        .range::<Sent>(SENT)
        .await
        .unwrap();
    let sent = sent[0].data.as_ref().unwrap();
    assert_eq!((sent.subject.as_str(), sent.attempt), ("welcome-ada", 3));
    let page = client
        .get(format!("{board}/streams/jobs:sent"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("welcome-ada"), "{page}");

    // The other tenant's board: the same streams, none of this.
    for path in [
        "",
        "/dead/jobs:send",
        "/streams/jobs:sent",
        "/streams/jobs:send",
    ] {
        let page = client
            .get(format!("{}/tenants/{other}/board{path}", service.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for theirs in ["welcome-ada", mine] {
            assert!(!page.contains(theirs), "{theirs:?} on {path}:\n{page}");
        }
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_from_the_board_gets_a_dead_letter_sent() {
    let tenants = ["acme", "globex"];
    let service = Service::start(MemoryAdapter::new().into_backend(), tenants).await;
    retry_over_http(service, tenants).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_from_the_board_gets_a_dead_letter_sent_on_redis() {
    let Some(backend) = redis_backend().await else {
        return;
    };
    // Tenants of their own: the browser test shares this Redis.
    let tenants = ["initech", "umbrella"];
    let service = Service::start(backend, tenants).await;
    retry_over_http(service, tenants).await;
}

/// `chromedriver` on a free port, driving headless `chromium`: a WebDriver
/// session through plain JSON over HTTP.
struct Browser {
    driver: Child,
    base: String,
    client: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The chromedriver this test started, by its own handle.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

impl Browser {
    /// A browser, `None` when the tests are told to skip it.
    async fn start() -> Option<Browser> {
        if std::env::var_os(SKIP_BROWSER_ENV).is_some_and(|v| v == "1") {
            eprintln!("{SKIP_BROWSER_ENV}=1: the browser test is skipped");
            return None;
        }
        for program in ["chromium", "chromedriver"] {
            assert!(
                on_path(program),
                "`{program}` is not on the PATH: the browser test needs Debian's chromium \
                 (`apt-get install -y chromium chromium-driver`), or set {SKIP_BROWSER_ENV}=1 to skip it"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(response) = browser
                .client
                .get(format!("{}/status", browser.base))
                .send()
                .await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let session = browser
            .call(
                "POST",
                "/session",
                serde_json::json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": which("chromium"),
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--window-size=1280,860",
                                 "--no-first-run", "--disable-extensions"],
                    },
                }}}),
            )
            .await;
        let id = session["sessionId"].as_str().unwrap().to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let text = request.send().await.unwrap().text().await.unwrap();
        let reply: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if reply["value"]["error"].is_string() {
            panic!("WebDriver {method} {path}: {}", reply["value"]);
        }
        reply["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", serde_json::json!({ "url": url }))
            .await;
    }

    /// The visible text of the page.
    async fn text(&self) -> String {
        let value = self
            .call(
                "POST",
                "/execute/sync",
                serde_json::json!({ "script": "return document.body.innerText", "args": [] }),
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Clicks the first element that matches `css`.
    async fn click(&self, css: &str) {
        let element = self
            .call(
                "POST",
                "/element",
                serde_json::json!({ "using": "css selector", "value": css }),
            )
            .await;
        let id = element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap()
            .to_owned();
        self.call(
            "POST",
            &format!("/element/{id}/click"),
            serde_json::json!({}),
        )
        .await;
    }

    /// Waits until the page's text holds `needle`, reloading it each time
    /// when `reload`.
    async fn wait_for(&self, needle: &str, reload: bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared in:\n{text}"
            );
            if reload {
                self.call("POST", "/refresh", serde_json::json!({})).await;
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Saves a screenshot as `board/screenshots/<name>.png` when asked to.
    async fn screenshot(&self, name: &str) {
        if std::env::var_os(SCREENSHOTS_ENV).is_none_or(|v| v != "1") {
            return;
        }
        let png = self
            .call("GET", "/screenshot", serde_json::Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../board/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    async fn quit(self) {
        self.call("DELETE", "", serde_json::Value::Null).await;
    }
}

fn which(program: &str) -> String {
    let paths = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// In headless Chromium, on Redis: the dead letter, the retry click, the
/// job sent, the live tail, and the other tenant's board.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_retry_a_dead_letter_and_tail_events() {
    let started = Instant::now();
    let Some(backend) = redis_backend().await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let service = Service::start(backend, ["acme", "globex"]).await;
    // Work for both: a job of acme's that fails twice, one of globex's.
    service
        .queue("acme", "ada@example.com", "welcome-ada", 2)
        .await;
    service
        .queue("acme", "grace@example.com", "invoice-7", 0)
        .await;
    service
        .queue("globex", "hank@globex.example", "globex-report", 0)
        .await;
    service.wait_len("acme", DEAD_LETTERS, 1).await;
    service.wait_len("acme", SENT, 1).await;
    service.wait_len("globex", SENT, 1).await;
    // A second group whose consumer took two entries and died with them:
    // stuck, as the stream's page shows (and offers to claim them for
    // another consumer of the group).
    let audit = service.org("acme").streams().group("audit", "auditor-1");
    audit.ensure(&board::jobs::SEND).await.unwrap();
    let taken = audit.read(&board::jobs::SEND).count(2).await.unwrap();
    assert_eq!(taken.len(), 2);
    // Another consumer of the group (a claim makes it), with one of them.
    let standby = service.org("acme").streams().group("audit", "auditor-2");
    let claimed = standby
        .claim(&board::jobs::SEND, &[taken[1].id.clone()], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    // The overview, then the dead letters through its link.
    let board = format!("{}/tenants/acme/board", service.url);
    browser.goto(&board).await;
    let text = browser.wait_for("jobs:send:dead", false).await;
    assert!(text.contains("jobs:sent"), "{text}");
    browser.screenshot("overview").await;
    browser.click("a[href=\"streams/jobs:send\"]").await;
    let text = browser.wait_for("Group mailers", false).await;
    assert!(text.contains("Group audit"), "{text}");
    assert!(text.contains("auditor-1"), "{text}");
    assert!(text.contains("Claim the pending entries of"), "{text}");
    browser.screenshot("stream").await;
    browser.goto(&board).await;
    browser.click("a[href=\"dead/jobs:send\"]").await;
    browser.wait_for("welcome-ada", false).await;
    browser.screenshot("dead-letters").await;

    // Retry: the entry leaves the dead letters, and the worker sends it.
    browser.click("button[data-action=\"retry\"]").await;
    let text = browser.wait_for("appended back to its stream", false).await;
    assert!(!text.contains("welcome-ada"), "{text}");
    browser.goto(&format!("{board}/streams/jobs:sent")).await;
    browser.wait_for("welcome-ada", true).await;
    assert_eq!(
        service
            .org("acme")
            .streams()
            .len(DEAD_LETTERS)
            .await
            .unwrap(),
        0
    );

    // The live tail: open, then an event published through the store.
    browser.goto(&format!("{board}/events")).await;
    // `open`: the response started, so the board has subscribed.
    browser.wait_for("Live: waiting for events", false).await;
    service
        .org("acme")
        .events()
        .publish(
            &mail::SENT,
            &Sent {
                to: "ops@example.com".into(),
                subject: "published-by-the-test".into(),
                attempt: 1,
            },
        )
        .await
        .unwrap();
    browser.wait_for("published-by-the-test", false).await;
    browser.screenshot("events").await;

    // globex's board: its own job, none of acme's; and its live tail gets
    // nothing of acme's events.
    let globex = format!("{}/tenants/globex/board", service.url);
    for path in [
        "",
        "/dead/jobs:send",
        "/streams/jobs:send",
        "/streams/jobs:sent",
    ] {
        browser.goto(&format!("{globex}{path}")).await;
        let text = browser.text().await;
        for acme in ["welcome-ada", "invoice-7", "acme", "published-by-the-test"] {
            assert!(
                !text.contains(acme),
                "{acme:?} on globex's {path:?}:\n{text}"
            );
        }
        if path == "/streams/jobs:sent" {
            assert!(text.contains("globex-report"), "{text}");
        }
    }
    browser.goto(&format!("{globex}/events")).await;
    // `open`: the response started, so the board has subscribed.
    browser.wait_for("Live: waiting for events", false).await;
    service
        .org("acme")
        .events()
        .publish(
            &mail::SENT,
            &Sent {
                to: "ops@example.com".into(),
                subject: "acme-only-event".into(),
                attempt: 1,
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = browser.text().await;
    assert!(!text.contains("acme-only-event"), "{text}");

    browser.quit().await;
    service.stop().await;
    eprintln!("the browser test took {:?}", started.elapsed());
}

/// The binary: serves the boards on `PORT=0` (a free port it prints) and
/// stops on SIGINT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_the_board_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_board"))
        .env_remove(common::REDIS_URL_ENV)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    });
    let (line, mut stdout) = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("the binary prints its address")
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let page = reqwest::get(format!("{url}/tenants/acme/board"))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("jobs:send:dead"));

    // Ctrl-C: the process this test started, by its pid.
    let status = common::interrupt(child, pid).await;
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.ends_with("stopped\n"), "{rest}");
}
