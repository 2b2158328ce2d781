//! Every example binary runs to its end, on the memory adapter and on a
//! Redis the test starts itself; the checks are on what it prints. The
//! examples assert their own claims (isolation, purge) as they go, so a
//! broken claim fails the run.
//!
//! The axum service has its own tests, in `axum_service.rs`.

mod common;

use common::{assert_contains, redis, run_example};

/// A Redis of this test binary's own, or `None` when
/// `IGNITER_STORE_SKIP_REDIS_TESTS=1` skips the Redis tests.
fn redis_url() -> Option<String> {
    if redis::skip_redis() {
        return None;
    }
    Some(redis::shared().url())
}

fn check_quickstart(stdout: &str) {
    assert_contains(
        stdout,
        &[
            "claim     once: worker-1 true, worker-2 false",
            r#"batch     [Some("ada"), Some("grace"), None]"#,
            r#"dev       scan member:* -> ["member:1", "member:2"]"#,
            "events    members:joined -> MemberJoined",
            "isolation globex/ws:7 settings -> None",
            "scopes    workspace without organization: STORE_SCOPE_REQUIRED",
            "scopes    organization after workspace: STORE_SCOPE_ORDER",
            "globex still has settings: true",
        ],
    );
}

#[test]
fn quickstart_on_memory() {
    let run = run_example(env!("CARGO_BIN_EXE_quickstart"), None);
    assert_contains(&run.stdout, &["adapter   in memory"]);
    check_quickstart(&run.stdout);
}

#[test]
fn quickstart_on_redis() {
    let Some(url) = redis_url() else { return };
    let run = run_example(env!("CARGO_BIN_EXE_quickstart"), Some(&url));
    assert_contains(&run.stdout, &["adapter   Redis at"]);
    check_quickstart(&run.stdout);
}

fn check_job_worker(stdout: &str) {
    assert_contains(
        stdout,
        &[
            "producer  appended 20 jobs and one poison entry",
            "does not decode (STORE_DESERIALIZATION_FAILED), delivery 3",
            "done      20 jobs handled, 1 entry dead-lettered, 0 pending",
        ],
    );
    // The two workers shared the jobs: each handled some, none twice.
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("workers   "))
        .unwrap_or_else(|| panic!("no `workers` line in:\n{stdout}"));
    let counts: Vec<(&str, usize)> = line
        .split(", ")
        .map(|w| {
            let (name, n) = w
                .split_once(" handled ")
                .unwrap_or_else(|| panic!("`{w}` in `{line}`"));
            (
                name,
                n.parse().unwrap_or_else(|_| panic!("`{n}` in `{line}`")),
            )
        })
        .collect();
    let names: Vec<&str> = counts.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["worker-a", "worker-b"], "{line}");
    assert!(
        counts.iter().all(|(_, n)| *n > 0),
        "a worker handled nothing: {line}"
    );
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<usize>(), 20, "{line}");
}

#[test]
fn job_worker_on_memory() {
    let run = run_example(env!("CARGO_BIN_EXE_job_worker"), None);
    check_job_worker(&run.stdout);
}

#[test]
fn job_worker_on_redis() {
    let Some(url) = redis_url() else { return };
    let run = run_example(env!("CARGO_BIN_EXE_job_worker"), Some(&url));
    check_job_worker(&run.stdout);
}

fn check_multi_tenant(stdout: &str) {
    assert_contains(
        stdout,
        &[
            "kv         globex reads acme's sso-config -> None",
            "counter    seats: acme 40, globex 3",
            "streams    audit-log entries: acme 3, globex 1",
            r#"dev        acme scan * -> ["plan", "sso-config"]"#,
            r#"dev        globex scan * -> ["plan"]"#,
            "organization:acme%3Aproject%3A1:kv:settings",
            "events     acme received activity:invoice_paid from organization Some(\"acme\")",
            "events     globex received activity:signed_in from organization Some(\"globex\")",
            "acme       plan None, seats 0, audit-log 0, keys [], project 1 settings None",
            r#"globex     plan Some("starter"), seats 3, audit-log 1, keys ["plan"]"#,
            "globex     billing-run still claimed: true; nightly-export extended: true",
            "ok: the organizations never saw each other",
        ],
    );
    // Each subscriber got only its own organization's events.
    assert!(
        !stdout.contains("acme received activity:signed_in from organization Some(\"globex\")")
    );
    assert!(!stdout.contains("globex received activity:invoice_paid"));
}

#[test]
fn multi_tenant_on_memory() {
    let run = run_example(env!("CARGO_BIN_EXE_multi_tenant"), None);
    check_multi_tenant(&run.stdout);
}

#[test]
fn multi_tenant_on_redis() {
    let Some(url) = redis_url() else { return };
    let run = run_example(env!("CARGO_BIN_EXE_multi_tenant"), Some(&url));
    check_multi_tenant(&run.stdout);
}

/// stdout is JSON lines only, one per event, with the event's name; some of
/// every namespace, both successes and errors; and no identifier, key, value,
/// owner or payload (the example puts `lovelace` in every one of them).
fn check_telemetry(stdout: &str) {
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|event| event["name"].as_str().expect("every line has a name"))
        .collect();
    for name in [
        "igniter.store.kv.set.started",
        "igniter.store.kv.set.success",
        "igniter.store.kv.get.success",
        "igniter.store.counter.increment.success",
        "igniter.store.claim.once.success",
        "igniter.store.claim.acquire.success",
        "igniter.store.batch.set.success",
        "igniter.store.dev.scan.success",
        "igniter.store.events.subscribe.success",
        "igniter.store.events.publish.success",
        "igniter.store.events.unsubscribe.success",
        "igniter.store.stream.append.success",
        "igniter.store.stream.read.success",
        "igniter.store.dev.purge.success",
        "igniter.store.kv.get.error",
        "igniter.store.kv.set.error",
    ] {
        assert!(names.contains(&name), "no {name} event in:\n{stdout}");
    }
    for event in &events {
        assert_eq!(event["target"], "igniter_store");
        assert_eq!(event["store.service"], "telemetry-example");
        let errored = event["name"].as_str().unwrap().ends_with(".error");
        assert_eq!(event["level"], if errored { "ERROR" } else { "DEBUG" });
    }
    let codes: Vec<&str> = events
        .iter()
        .filter_map(|event| event["error.code"].as_str())
        .collect();
    assert_eq!(codes, ["STORE_SCOPE_REQUIRED", "STORE_TTL_INVALID"]);
    assert!(
        !stdout.contains("lovelace"),
        "an identifier, key, value or payload leaked into the events:\n{stdout}"
    );
}

#[test]
fn telemetry_on_memory() {
    let run = run_example(env!("CARGO_BIN_EXE_telemetry"), None);
    check_telemetry(&run.stdout);
}

#[test]
fn telemetry_on_redis() {
    let Some(url) = redis_url() else { return };
    let run = run_example(env!("CARGO_BIN_EXE_telemetry"), Some(&url));
    check_telemetry(&run.stdout);
}
