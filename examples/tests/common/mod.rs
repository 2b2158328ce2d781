//! What the examples' tests share: running an example binary with a time
//! limit, and the Redis test servers of the store's own tests (started on
//! free ports, stopped with the test process; never the Redis on 6379).

// Each test binary uses only part of it.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../../../store/tests/support/mod.rs"]
pub mod redis;

/// The environment variable every example reads for a Redis URL.
pub const REDIS_URL_ENV: &str = "IGNITER_STORE_REDIS_URL";

/// How long one example may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// What an example printed.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
}

/// Runs the example binary `bin` (`env!("CARGO_BIN_EXE_<name>")`) on the
/// memory adapter, or on Redis at `redis_url`, and returns its output.
///
/// # Panics
///
/// When it fails, or runs longer than two minutes (it is killed then); the
/// message has its output.
pub fn run_example(bin: &str, redis_url: Option<&str>) -> Run {
    let mut command = Command::new(bin);
    command
        .env_remove(REDIS_URL_ENV)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = redis_url {
        command.env(REDIS_URL_ENV, url);
    }
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{bin}: {e}"));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    match status {
        Some(status) if status.success() => run,
        Some(status) => panic!(
            "{bin} failed ({status})\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        ),
        None => panic!(
            "{bin} ran longer than {RUN_TIMEOUT:?}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        ),
    }
}

/// Reads a pipe to its end on a thread of its own (so a full pipe never
/// blocks the child).
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = String::new();
        pipe.read_to_string(&mut out).unwrap();
        out
    })
}

/// Asserts that `haystack` holds every one of `needles`.
#[track_caller]
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the output:\n{haystack}"
        );
    }
}

/// Sends SIGINT (Ctrl-C) to the example started as `child` (whose pid is
/// `pid`) and waits up to 15 s for it to exit: its exit status. Past 15 s
/// the process is killed and the test fails.
#[allow(dead_code)]
pub async fn interrupt(mut child: std::process::Child, pid: u32) -> std::process::ExitStatus {
    use std::time::{Duration, Instant};
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    exited.expect("the binary stops within 15 s of SIGINT")
}
