//! `redis-server` processes started by the tests themselves, on free ports.
//!
//! Never the Redis on 127.0.0.1:6379: every server gets a port the kernel
//! hands out (bind 127.0.0.1:0, read the port, release it), its own temporary
//! directory, and a log file there (`redis.log`) whose tail is printed when the
//! server does not come up.
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! mod support;
//!
//! #[tokio::test]
//! async fn it_works() {
//!     if support::skip_redis() {
//!         return;
//!     }
//!     let redis = support::shared();              // one server per test binary
//!     let prefix = support::unique_prefix("it_works"); // isolate by key prefix
//!     let url = redis.url();                      // redis://127.0.0.1:N/
//!     // fault tests start their own server:
//!     let own = support::RedisServer::builder().aof().start();
//!     own.kill();
//!     own.restart();                              // same port, same dir
//! }
//! ```
//!
//! # Cleanup
//!
//! `redis-server` is not a direct child of the test process: it is started by a
//! small `sh` script (the "watchdog") that is. The test process holds the
//! write end of the script's stdin pipe and never writes to it; the script
//! waits for end-of-file on it in the background. The kernel closes that pipe
//! when the test process is gone, however it ends (normal exit, panic, abort,
//! SIGKILL), so the watchdog then kills `redis-server` with SIGKILL and removes
//! its directory. That is what stops the servers of [`shared`], a `static`
//! that is never dropped. No polling, no pids of the test process, no `unsafe`.
//!
//! While the test process lives, [`RedisServer::kill`], [`RedisServer::stop`],
//! [`RedisServer::restart`], [`RedisServer::pause`], [`RedisServer::resume`]
//! and `Drop` signal the `redis-server` process itself (its pid is printed by
//! the script), then reap the script, which exits as soon as `redis-server`
//! does: when they return, the server process is gone.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable that skips the Redis tests when set to `1`.
pub const SKIP_ENV: &str = "IGNITER_STORE_SKIP_REDIS_TESTS";

/// How long `start()` and `restart()` wait for the server to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `restart()` retries when the old port is briefly taken.
const REBIND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a graceful stop (SIGTERM) may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one `redis-cli` command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts at a fresh free port when the one picked is taken in between.
const PORT_ATTEMPTS: usize = 10;

/// The watchdog. `$0` is a label, `$@` the arguments of `redis-server`;
/// `REDIS_BIN` is its path and `REDIS_DIR` the server's directory.
///
/// It prints the pid of `redis-server`, waits for it and exits with its
/// status. In the background it reads its stdin, a pipe whose write end only
/// the test process holds: end-of-file there means the test process is gone,
/// so it kills `redis-server` and marks the directory for removal.
const WATCHDOG: &str = r#"
exec 3<&0
"$REDIS_BIN" "$@" </dev/null >>"$REDIS_DIR/redis.log" 2>&1 3<&- &
p=$!
echo "$p"
exec >/dev/null
( read -r _ <&3; : >"$REDIS_DIR/.orphaned"; kill -9 "$p" 2>/dev/null ) </dev/null &
w=$!
exec 3<&-
wait "$p"
rc=$?
kill "$w" 2>/dev/null
if [ -e "$REDIS_DIR/.orphaned" ]; then rm -rf "$REDIS_DIR"; fi
exit "$rc"
"#;

/// `true` when the Redis tests must be skipped: only when
/// `IGNITER_STORE_SKIP_REDIS_TESTS` is set to `1`. Prints once to stderr that
/// they are skipped. Every Redis test calls it first and returns early.
pub fn skip_redis() -> bool {
    static NOTICE: Once = Once::new();
    let skip = std::env::var_os(SKIP_ENV).is_some_and(|v| v == "1");
    if skip {
        NOTICE.call_once(|| {
            // Straight to stderr: eprintln! would be captured by the test harness.
            let _ = writeln!(
                std::io::stderr(),
                "{SKIP_ENV}=1: the Redis tests are skipped (they pass without running)"
            );
        });
    }
    skip
}

/// The server shared by every test of this test binary (started on first
/// use, plain: no password, no TLS, no AOF). Tests isolate themselves by key
/// prefix ([`unique_prefix`]) and must not kill, pause or flush it; fault
/// tests start their own [`RedisServer`].
///
/// It is a `static`, never dropped: the watchdog stops it and removes its
/// directory when the test process exits.
pub fn shared() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(RedisServer::start)
}

/// A key prefix unique to this process and call, for tests sharing a server:
/// `"t:{name}:{pid}:{n}:"`.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("t:{name}:{}:{n}:", std::process::id())
}

/// Options of a [`RedisServer`]; see [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
pub struct RedisServerBuilder {
    auth: Option<(String, String)>,
    tls: bool,
    aof: bool,
    cluster: bool,
    args: Vec<String>,
}

impl RedisServerBuilder {
    /// ACL: creates `user` with password `pass` and every permission
    /// (`--user <user> on ><pass> ~* &* +@all`) and **disables the `default`
    /// user** (`--user default off`): every connection must authenticate as
    /// `user` (`AUTH user pass`; a bare `AUTH pass` is refused), an
    /// unauthenticated command gets `NOAUTH`. [`RedisServer::url`] carries the
    /// credentials and [`RedisServer::cli`] uses them.
    pub fn password(mut self, user: impl Into<String>, pass: impl Into<String>) -> Self {
        self.auth = Some((user.into(), pass.into()));
        self
    }

    /// TLS only: a CA and a server certificate (for `IP:127.0.0.1` and
    /// `DNS:localhost`) made with the `openssl` CLI in the server's directory,
    /// `--port 0 --tls-port N`, no client certificates required.
    /// [`RedisServer::ca_cert_path`] is the CA to trust; [`RedisServer::url`]
    /// is `rediss://`.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Persistence: `--appendonly yes --appendfsync always` (every write is on
    /// disk before the reply), in the server's directory, which
    /// [`RedisServer::restart`] keeps. Without it, `--save ""`: nothing
    /// persists and a restarted server is empty.
    pub fn aof(mut self) -> Self {
        self.aof = true;
        self
    }

    /// A Redis Cluster node: `--cluster-enabled yes --cluster-config-file
    /// nodes.conf --cluster-node-timeout 2000`, on a port whose cluster bus
    /// port (port + 10000) is free too. Used by
    /// [`RedisCluster`](super::redis_cluster::RedisCluster).
    pub fn cluster(mut self) -> Self {
        self.cluster = true;
        self
    }

    /// One more `redis-server` argument, e.g. `.arg("--maxmemory").arg("1mb")`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Starts the server: see [`RedisServer::start`].
    ///
    /// # Panics
    ///
    /// When `redis-server` (or `openssl` for TLS) is not installed, or the
    /// server does not answer `PING` within 10 s (the message has the tail of
    /// its log).
    pub fn start(self) -> RedisServer {
        let redis_bin = require_binary("redis-server");
        if self.tls {
            require_binary("openssl");
            require_binary("redis-cli");
        }
        let dir = make_temp_dir();
        // From here on, a panic drops `server`, which removes the directory.
        let mut server = RedisServer {
            port: 0,
            dir,
            redis_bin,
            ca_cert: None,
            config: self,
            state: Mutex::new(State::default()),
        };
        if server.config.tls {
            server.ca_cert = Some(make_tls_files(&server.dir));
        }
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = pick_port(server.config.cluster);
            match server.spawn() {
                Ok(running) => {
                    server.lock().running = Some(running);
                    return server;
                }
                Err(SpawnError::AddrInUse(message)) => last_error = message,
                Err(SpawnError::Failed(message)) => panic!("{message}"),
            }
        }
        panic!("no free port for redis-server after {PORT_ATTEMPTS} attempts: {last_error}");
    }
}

/// A `redis-server` process of the tests; see the module documentation.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    redis_bin: PathBuf,
    ca_cert: Option<PathBuf>,
    config: RedisServerBuilder,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: Option<Running>,
    paused: bool,
}

struct Running {
    /// The watchdog script, the direct child; exits when `redis-server` does.
    shell: Child,
    /// The write end of the watchdog's stdin: dropped only once the watchdog
    /// has exited (closing it earlier would make the watchdog kill the server
    /// and remove the directory).
    stdin: Option<ChildStdin>,
    /// The pid of `redis-server` itself.
    pid: u32,
}

enum SpawnError {
    /// The port (or the cluster bus port) was taken: try again.
    AddrInUse(String),
    Failed(String),
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("tls", &self.config.tls)
            .field("aof", &self.config.aof)
            .field("cluster", &self.config.cluster)
            .field("user", &self.config.auth.as_ref().map(|(user, _)| user))
            .field("pid", &self.pid())
            .finish()
    }
}

impl RedisServer {
    /// The options: password, TLS, AOF, cluster, extra arguments.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// Starts a plain server (no password, no TLS, no AOF): picks a free port,
    /// spawns `redis-server --port N --bind 127.0.0.1 --save "" --daemonize no
    /// --dir <temp dir>` through the watchdog and waits until it answers
    /// `PING`.
    ///
    /// # Panics
    ///
    /// As [`RedisServerBuilder::start`].
    pub fn start() -> RedisServer {
        Self::builder().start()
    }

    /// The port (the TLS port with [`tls`](RedisServerBuilder::tls)); the
    /// same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:N/`; `rediss://` with TLS; `redis://user:pass@…`
    /// with a password (percent-encoded).
    pub fn url(&self) -> String {
        let scheme = if self.config.tls { "rediss" } else { "redis" };
        let auth = match &self.config.auth {
            Some((user, pass)) => format!("{}:{}@", percent_encode(user), percent_encode(pass)),
            None => String::new(),
        };
        format!("{scheme}://{auth}127.0.0.1:{}/", self.port)
    }

    /// The server's directory (log, AOF, certificates, `nodes.conf`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log file (its stdout and stderr, across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// The CA certificate (PEM) that signed the server's certificate, with
    /// [`tls`](RedisServerBuilder::tls).
    ///
    /// # Panics
    ///
    /// Without TLS.
    pub fn ca_cert_path(&self) -> &Path {
        self.ca_cert
            .as_deref()
            .expect("ca_cert_path(): this server was not started with tls()")
    }

    /// The user and password of [`password`](RedisServerBuilder::password).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.config
            .auth
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.as_str()))
    }

    /// The pid of the `redis-server` process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock().running.as_ref().map(|running| running.pid)
    }

    /// Whether the server process is alive (a paused server is).
    pub fn is_running(&self) -> bool {
        let mut state = self.lock();
        let exited = match state.running.as_mut() {
            None => return false,
            Some(running) => matches!(running.shell.try_wait(), Ok(Some(_)) | Err(_)),
        };
        if exited {
            state.running = None;
            state.paused = false;
        }
        !exited
    }

    /// Runs `redis-cli` against this server (with `--tls --cacert` and
    /// `--user --pass` as needed) and returns its stdout, trailing newlines
    /// trimmed. The output is redis-cli's raw format (stdout is not a
    /// terminal): one line per element; an error reply is returned as its
    /// text (`ERR …`, `NOAUTH …`). Options may come first: `["-c", "GET",
    /// "k"]` follows cluster redirections.
    ///
    /// # Panics
    ///
    /// When `redis-cli` fails (e.g. the server is down: connection refused)
    /// or takes more than 15 s (e.g. the server is paused).
    pub fn cli<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        match self.try_cli(args) {
            Ok(stdout) => stdout,
            Err(error) => panic!("redis-cli against port {}: {error}", self.port),
        }
    }

    /// As [`cli`](Self::cli), but a failure of `redis-cli` (non-zero exit, or
    /// 15 s without an answer) is an `Err` with its stderr.
    pub fn try_cli<I, S>(&self, args: I) -> Result<String, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.cli_command(true);
        command.args(args);
        run_cli(command)
    }

    /// As [`cli`](Self::cli) without credentials, even on a server with a
    /// password (to see it refuse: `NOAUTH`).
    pub fn cli_without_auth<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.cli_command(false);
        command.args(args);
        match run_cli(command) {
            Ok(stdout) => stdout,
            Err(error) => panic!("redis-cli against port {}: {error}", self.port),
        }
    }

    /// A `redis-cli` command with this server's connection options and
    /// (with `auth`) credentials, for what [`cli`](Self::cli) does not cover
    /// (stdin, `--scan`, …).
    pub fn cli_command(&self, auth: bool) -> Command {
        let mut command = Command::new(require_binary("redis-cli"));
        command
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string());
        if let Some(ca) = &self.ca_cert {
            command.arg("--tls").arg("--cacert").arg(ca);
        }
        if let (true, Some((user, pass))) = (auth, &self.config.auth) {
            command
                .arg("--user")
                .arg(user)
                .arg("--pass")
                .arg(pass)
                .arg("--no-auth-warning");
        }
        command
    }

    /// One `PING` (with `AUTH` first on a server with a password): raw RESP
    /// over TCP, or `redis-cli` with TLS. `Err` with the reason when there is
    /// no `PONG` within `timeout` (server down, paused, loading, …).
    pub fn ping(&self, timeout: Duration) -> Result<(), String> {
        if self.config.tls {
            let mut command = self.cli_command(true);
            command.arg("PING");
            match run_with_timeout(command, timeout) {
                Ok(output) if output.status.success() => {
                    let stdout = String::from_utf8_lossy(&output.stdout);
                    if stdout.trim() == "PONG" {
                        Ok(())
                    } else {
                        Err(format!("PING answered {:?}", stdout.trim()))
                    }
                }
                Ok(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
                Err(error) => Err(error),
            }
        } else {
            resp_ping(self.port, self.config.auth.as_ref(), timeout)
        }
    }

    /// SIGKILL to `redis-server`, and waits until it has exited (a crash:
    /// without AOF, its data is gone). Nothing when it is not running.
    pub fn kill(&self) {
        let mut state = self.lock();
        if let Some(running) = state.running.take() {
            signal(running.pid, "KILL");
            reap(running);
        }
        state.paused = false;
    }

    /// SIGTERM to `redis-server` (resumed first if paused), a clean shutdown;
    /// SIGKILL after 5 s. Waits until it has exited. Nothing when it is not
    /// running.
    pub fn stop(&self) {
        let mut state = self.lock();
        if let Some(mut running) = state.running.take() {
            signal(running.pid, "TERM");
            if state.paused {
                signal(running.pid, "CONT");
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if !matches!(running.shell.try_wait(), Ok(None)) {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            signal(running.pid, "KILL");
            reap(running);
        }
        state.paused = false;
    }

    /// Starts the server again on the same port and directory (kills it
    /// first if it runs: a crash and a restart), retrying for up to 5 s while
    /// the port is taken, and waits until it answers `PING`. With
    /// [`aof`](RedisServerBuilder::aof) the data is back; without, it is
    /// empty.
    ///
    /// # Panics
    ///
    /// When the server does not come back (the message has its log's tail).
    pub fn restart(&self) {
        self.kill();
        let deadline = Instant::now() + REBIND_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(running) => {
                    self.lock().running = Some(running);
                    return;
                }
                Err(SpawnError::AddrInUse(_)) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(SpawnError::AddrInUse(message) | SpawnError::Failed(message)) => {
                    panic!("restart: {message}")
                }
            }
        }
    }

    /// SIGSTOP to `redis-server`: it accepts connections (the kernel does)
    /// but answers nothing until [`resume`](Self::resume).
    ///
    /// # Panics
    ///
    /// When it is not running.
    pub fn pause(&self) {
        let mut state = self.lock();
        let pid = state
            .running
            .as_ref()
            .expect("pause(): the server is not running")
            .pid;
        signal(pid, "STOP");
        state.paused = true;
    }

    /// SIGCONT to `redis-server`, after [`pause`](Self::pause).
    ///
    /// # Panics
    ///
    /// When it is not running.
    pub fn resume(&self) {
        let mut state = self.lock();
        let pid = state
            .running
            .as_ref()
            .expect("resume(): the server is not running")
            .pid;
        signal(pid, "CONT");
        state.paused = false;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn redis_args(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(|s| (*s).to_owned()));
        let port = self.port.to_string();
        if let Some(ca) = &self.ca_cert {
            let dir = self.dir.to_string_lossy().into_owned();
            push(&["--port", "0", "--tls-port", &port]);
            push(&["--tls-cert-file", &format!("{dir}/server.crt")]);
            push(&["--tls-key-file", &format!("{dir}/server.key")]);
            push(&["--tls-ca-cert-file", &ca.to_string_lossy()]);
            push(&["--tls-auth-clients", "no"]);
        } else {
            push(&["--port", &port]);
        }
        // Loopback only, so protected mode (which only refuses other
        // interfaces) never gets in the way: no `--protected-mode no`.
        push(&["--bind", "127.0.0.1", "--daemonize", "no"]);
        push(&["--dir", &self.dir.to_string_lossy()]);
        if self.config.aof {
            push(&["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            push(&["--save", "", "--appendonly", "no"]);
        }
        if redis_major_version() >= 7 {
            // DEBUG SLEEP, DEBUG RELOAD… for fault tests (refused by default since 7).
            push(&["--enable-debug-command", "yes"]);
        }
        if let Some((user, pass)) = &self.config.auth {
            push(&[
                "--user",
                user,
                "on",
                &format!(">{pass}"),
                "~*",
                "&*",
                "+@all",
            ]);
            push(&["--user", "default", "off"]);
        }
        if self.config.cluster {
            push(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ]);
            push(&["--cluster-node-timeout", "2000"]);
        }
        args.extend(self.config.args.iter().cloned());
        args
    }

    /// Spawns the watchdog and `redis-server` on `self.port`, and waits until
    /// the server answers `PING`.
    fn spawn(&self) -> Result<Running, SpawnError> {
        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| SpawnError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let fail = |reason: String| {
            let tail = log_tail(&log_path, log_start);
            let message = format!(
                "redis-server on 127.0.0.1:{} ({}) {reason}\n--- last lines of {} ---\n{tail}",
                self.port,
                self.dir.display(),
                log_path.display()
            );
            if tail.contains("Address already in use") {
                SpawnError::AddrInUse(message)
            } else {
                SpawnError::Failed(message)
            }
        };
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("igniter-store-redis-watchdog")
            .args(self.redis_args())
            .env("REDIS_BIN", &self.redis_bin)
            .env("REDIS_DIR", &self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| SpawnError::Failed(format!("cannot run sh: {e}")))?;
        let stdin = shell.stdin.take();
        let mut line = String::new();
        let read = shell
            .stdout
            .take()
            .map(|stdout| BufReader::new(stdout).read_line(&mut line));
        let pid = match (read, line.trim().parse::<u32>()) {
            (Some(Ok(_)), Ok(pid)) => pid,
            _ => {
                drop(stdin);
                let _ = shell.wait();
                return Err(fail(format!(
                    "did not start: the watchdog printed {line:?}"
                )));
            }
        };
        let mut running = Running { shell, stdin, pid };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = running.shell.try_wait() {
                drop(running.stdin.take());
                return Err(fail(format!("exited during start-up ({status})")));
            }
            let attempt = Duration::from_millis(if self.config.tls { 2000 } else { 500 });
            let last = match self.ping(attempt) {
                Ok(()) => return Ok(running),
                Err(error) => error,
            };
            if Instant::now() >= deadline {
                signal(running.pid, "KILL");
                reap(running);
                return Err(fail(format!(
                    "did not answer PING within {START_TIMEOUT:?} (last: {last})"
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    /// Stops the server (SIGTERM, SIGKILL after 5 s) and removes its
    /// directory.
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Waits for the watchdog (which exits once `redis-server` has), then
/// releases its stdin.
fn reap(mut running: Running) {
    let _ = running.shell.wait();
    drop(running.stdin.take());
}

/// Sends `SIG<name>` to `pid` with the shell's `kill` (no `unsafe`, no libc).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(r#"kill -s "$1" "$2" 2>/dev/null"#)
        .arg("kill")
        .arg(name)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A port that was free a moment ago (bound on 127.0.0.1:0 then released);
/// for a cluster node, one whose bus port (port + 10000) is free too.
fn pick_port(cluster_bus: bool) -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if port == 6379 {
            continue;
        }
        if !cluster_bus {
            return port;
        }
        let Some(bus) = port.checked_add(10000) else {
            continue;
        };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// A new, empty directory under the system's temporary directory.
fn make_temp_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "igniter-store-redis-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
}

/// Makes `ca.crt`/`ca.key` and `server.crt`/`server.key` (P-256, for
/// `IP:127.0.0.1` and `DNS:localhost`) in `dir` with the `openssl` CLI;
/// returns the CA certificate's path.
fn make_tls_files(dir: &Path) -> PathBuf {
    let write = |name: &str, text: &str| {
        fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    };
    write(
        "ca.cnf",
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n\
         [dn]\nCN = igniter-store test CA\n\
         [v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\n",
    );
    write(
        "server.ext",
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    );
    let serial = format!(
        "0x{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1)
    );
    let steps: [&[&str]; 5] = [
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ca.key",
        ],
        &[
            "req", "-x509", "-new", "-config", "ca.cnf", "-key", "ca.key", "-sha256", "-days",
            "3650", "-out", "ca.crt",
        ],
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "server.key",
        ],
        &[
            "req",
            "-new",
            "-config",
            "ca.cnf",
            "-key",
            "server.key",
            "-subj",
            "/CN=127.0.0.1",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-sha256",
            "-days",
            "3650",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    ];
    for step in steps {
        let output = Command::new("openssl")
            .args(step)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
        assert!(
            output.status.success(),
            "openssl {} failed: {}",
            step.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir.join("ca.crt")
}

/// `PING` in RESP over TCP, after `AUTH user pass` when given.
fn resp_ping(port: u16, auth: Option<&(String, String)>, timeout: Duration) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut request = Vec::new();
    let mut replies = 1;
    if let Some((user, pass)) = auth {
        request.extend(resp_command(&["AUTH", user, pass]));
        replies += 1;
    }
    request.extend(resp_command(&["PING"]));
    stream
        .write_all(&request)
        .map_err(|e| format!("write: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    for _ in 0..replies {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Err("connection closed".to_owned()),
            Ok(_) if line.starts_with('+') => {}
            Ok(_) => return Err(line.trim_end().to_owned()),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    if line.trim_end() == "+PONG" {
        Ok(())
    } else {
        Err(line.trim_end().to_owned())
    }
}

fn resp_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    out.into_bytes()
}

/// Runs a `redis-cli` command: stdout with trailing newlines trimmed, or the
/// reason it failed.
fn run_cli(command: Command) -> Result<String, String> {
    let output = run_with_timeout(command, CLI_TIMEOUT)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end_matches(['\n', '\r'])
            .to_owned())
    } else {
        Err(format!(
            "redis-cli failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }
}

/// Runs `command` to completion, killing it after `timeout`.
pub(crate) fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<Output, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(format!("{command:?}: {e}")),
        Err(_) => {
            // Not reaped yet (the thread waits for it), so the pid is still its.
            signal(pid, "KILL");
            let _ = rx.recv();
            Err(format!("{command:?} did not finish within {timeout:?}"))
        }
    }
}

/// The last 40 lines written to `path` since byte `from`.
fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    if tail.is_empty() {
        "(empty)".to_owned()
    } else {
        tail
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The major version of `redis-server` (`v=7.0.15` → 7), 0 if unknown.
fn redis_major_version() -> u32 {
    static VERSION: OnceLock<u32> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let output = Command::new(require_binary("redis-server"))
            .arg("--version")
            .output();
        let text = output
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        text.split_once("v=")
            .and_then(|(_, rest)| rest.split('.').next())
            .and_then(|major| major.parse().ok())
            .unwrap_or(0)
    })
}

/// The path of `name` on `PATH`.
///
/// # Panics
///
/// When it is not there, with how to install it (see [`locate`]).
pub fn require_binary(name: &str) -> PathBuf {
    locate(name, std::env::var_os("PATH").as_deref()).unwrap_or_else(|message| panic!("{message}"))
}

/// Looks `name` up in `path` (a `PATH` value); the error says how to install
/// it.
pub fn locate(name: &str, path: Option<&OsStr>) -> Result<PathBuf, String> {
    let found = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|file| fs::metadata(file).is_ok_and(|meta| meta.is_file()));
    found.ok_or_else(|| match name {
        "redis-server" | "redis-cli" => format!(
            "{name} not found: install it with `apt-get install -y redis-server redis-tools` \
             (or set {SKIP_ENV}=1 to skip the Redis tests)"
        ),
        _ => format!("{name} not found: install it with `apt-get install -y {name}`"),
    })
}
