//! The metrics example, scraped over HTTP as Prometheus would: the store's
//! series are there with their labels, and no label or value holds a tenant
//! identifier.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{REDIS_URL_ENV, redis};

/// Kills the example when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example serving for a minute and returns it with the URL it
/// printed.
fn start(redis_url: Option<&str>) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metrics"));
    command
        .env_remove(REDIS_URL_ENV)
        .env("IGNITER_METRICS_ADDR", "127.0.0.1:0")
        .env("IGNITER_METRICS_SERVE_SECS", "60")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = redis_url {
        command.env(REDIS_URL_ENV, url);
    }
    let mut child = Running(command.spawn().expect("the metrics example starts"));
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let started = Instant::now();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("metrics   serving ") {
            return (child, url.to_owned());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no URL printed"
        );
    }
    panic!("the example ended without serving");
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.expect("GET /metrics");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.text().await.unwrap()
}

fn check(body: &str) {
    for series in [
        r#"igniter_store_operations_total{service="metrics-example",operation="kv.get",outcome="ok"} 2"#,
        r#"igniter_store_operations_total{service="metrics-example",operation="kv.set",outcome="ok"} 2"#,
        r#"igniter_store_operations_total{service="metrics-example",operation="kv.set",outcome="STORE_TTL_INVALID"} 2"#,
        r#"igniter_store_operations_total{service="metrics-example",operation="events.publish",outcome="ok"} 2"#,
        r#"igniter_store_operations_total{service="metrics-example",operation="dev.purge",outcome="ok"} 2"#,
        r#"igniter_store_operation_duration_seconds_count{service="metrics-example",operation="kv.get"} 2"#,
        r#"igniter_store_operation_duration_seconds_bucket{service="metrics-example",operation="kv.get",le="5"} 2"#,
        r#"igniter_store_subscriber_lagged_messages_total{service="metrics-example"} 12"#,
        r#"igniter_store_stream_dead_lettered_total{service="metrics-example"} 2"#,
        r#"igniter_store_stream_pending_entries{service="metrics-example",stream="jobs:resize"} 0"#,
        r#"igniter_store_operations_total{service="metrics-example",operation="stream.dead_letter",outcome="ok"} 2"#,
        "# HELP igniter_store_operations_total Store operations, by outcome",
        "# TYPE igniter_store_operation_duration_seconds histogram",
    ] {
        assert!(body.contains(series), "no `{series}` in:\n{body}");
    }
    // Labels are the store's constants and the service: never a tenant.
    for tenant in ["lovelace", "hopper"] {
        assert!(!body.contains(tenant), "`{tenant}` in:\n{body}");
    }
    let labels: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|l| l.starts_with("igniter_store_"))
        .filter_map(|l| l.split_once('{').map(|(_, rest)| rest))
        .flat_map(|rest| {
            rest.split(',')
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        })
        .collect();
    assert_eq!(
        labels,
        ["le", "operation", "outcome", "service", "stream"]
            .into_iter()
            .collect(),
        "label names"
    );
}

#[tokio::test]
async fn metrics_are_scraped_over_http_on_memory() {
    let (_example, url) = start(None);
    check(&scrape(&url).await);
}

#[tokio::test]
async fn metrics_are_scraped_over_http_on_redis() {
    if redis::skip_redis() {
        return;
    }
    let (_example, url) = start(Some(&redis::shared().url()));
    check(&scrape(&url).await);
}
