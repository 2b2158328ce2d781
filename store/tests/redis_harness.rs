//! Tests of the test harness itself (`tests/support/`): `redis-server`
//! processes on free ports, their faults (kill, restart, pause), password,
//! TLS, clusters, and that no server outlives its test process.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::redis_server::locate;
use support::{RedisCluster, RedisServer, Role, shared, skip_redis, unique_prefix};

/// Whether a process (not a zombie) with this pid exists.
fn process_alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            state != Some(Some('Z'))
        })
        .unwrap_or(false)
}

/// The pids of the live processes whose command line contains `needle`
/// (`redis-server` rewrites its own to `redis-server 127.0.0.1:PORT`; the
/// watchdog's has the server's `--dir`).
fn processes_matching(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && process_alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
}

/// Waits up to `timeout` for `condition`.
fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shared_server_answers_on_its_own_port() {
    if skip_redis() {
        return;
    }
    let redis = shared();
    assert!(
        std::ptr::eq(redis, shared()),
        "one shared server per test binary"
    );
    assert_ne!(redis.port(), 6379, "never the machine's Redis");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port()));
    assert_eq!(redis.cli(["PING"]), "PONG");
    redis.ping(Duration::from_secs(1)).expect("raw RESP PING");

    let a = unique_prefix("shared");
    let b = unique_prefix("shared");
    assert_ne!(a, b);
    assert_eq!(redis.cli(["SET", &format!("{a}k"), "1"]), "OK");
    assert_eq!(redis.cli(["GET", &format!("{a}k")]), "1");
    assert_eq!(redis.cli(["EXISTS", &format!("{b}k")]), "0");
    // Error replies come back as text; a dead connection is an Err.
    assert!(redis.cli(["NO-SUCH-COMMAND"]).starts_with("ERR"));
    // DEBUG is enabled for fault tests.
    assert_eq!(redis.cli(["DEBUG", "SLEEP", "0"]), "OK");
}

#[test]
fn kill_and_restart_on_the_same_port_loses_data_without_aof() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::start();
    let port = server.port();
    assert_eq!(server.cli(["SET", "k", "v"]), "OK");
    let pid = server.pid().expect("running");
    assert!(process_alive(pid));

    server.kill();
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(
        !process_alive(pid),
        "kill() waits for redis-server itself to exit"
    );
    assert!(
        connect(port).is_err(),
        "nothing listens on {port} after kill()"
    );
    assert!(server.try_cli(["PING"]).is_err());

    server.restart();
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), Some(pid));
    assert_eq!(server.cli(["PING"]), "PONG");
    assert_eq!(
        server.cli(["EXISTS", "k"]),
        "0",
        "no persistence without aof()"
    );

    // restart() of a running server is a crash and a restart.
    let pid = server.pid().expect("running");
    server.restart();
    assert!(!process_alive(pid));
    assert_eq!(server.cli(["PING"]), "PONG");
}

#[test]
fn kill_and_restart_keeps_data_with_aof() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::builder().aof().start();
    let port = server.port();
    assert_eq!(
        server.cli(["CONFIG", "GET", "appendfsync"]),
        "appendfsync\nalways"
    );
    assert_eq!(server.cli(["SET", "k", "kept"]), "OK");
    assert_eq!(server.cli(["INCR", "n"]), "1");
    server.kill();
    assert!(server.dir().exists(), "the directory survives kill()");
    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(server.cli(["GET", "k"]), "kept");
    assert_eq!(server.cli(["GET", "n"]), "1");
}

#[test]
fn pause_holds_replies_until_resume() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::start();
    let mut stream = connect(server.port()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");

    server.pause();
    assert!(server.is_running(), "a paused server is alive");
    assert!(
        server.ping(Duration::from_millis(200)).is_err(),
        "no PONG while paused"
    );
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
    let mut byte = [0u8; 1];
    let err = stream.read(&mut byte).expect_err("no reply while paused");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );

    server.resume();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .expect("reply after resume");
    assert_eq!(reply, "+PONG\r\n");
    assert_eq!(server.cli(["PING"]), "PONG");

    // Dropping a paused server still stops it.
    server.pause();
    let pid = server.pid().expect("running");
    drop(server);
    assert!(!process_alive(pid));
}

#[test]
fn password_server_refuses_unauthenticated_commands() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::builder()
        .password("alice", "s3cret p@ss")
        .start();
    let port = server.port();
    assert_eq!(
        server.url(),
        format!("redis://alice:s3cret%20p%40ss@127.0.0.1:{port}/")
    );
    assert_eq!(server.credentials(), Some(("alice", "s3cret p@ss")));

    let refused = server.cli_without_auth(["PING"]);
    assert!(refused.starts_with("NOAUTH"), "{refused}");
    // The `default` user is disabled: a bare AUTH <password> is refused.
    let wrong = server.cli_without_auth(["AUTH", "s3cret p@ss"]);
    assert!(wrong.starts_with("WRONGPASS"), "{wrong}");
    let wrong = server.cli_without_auth(["AUTH", "alice", "nope"]);
    assert!(wrong.starts_with("WRONGPASS"), "{wrong}");

    assert_eq!(server.cli(["PING"]), "PONG");
    assert_eq!(server.cli(["ACL", "WHOAMI"]), "alice");
    assert_eq!(server.cli(["SET", "k", "v"]), "OK");
    server
        .ping(Duration::from_secs(1))
        .expect("raw PING after AUTH");
}

#[test]
fn tls_server_answers_with_its_ca_only() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::builder().tls().start();
    let port = server.port();
    assert_eq!(server.url(), format!("rediss://127.0.0.1:{port}/"));
    let ca = fs::read_to_string(server.ca_cert_path()).expect("CA certificate");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(server.cli(["PING"]), "PONG");
    assert_eq!(
        server.cli(["CONFIG", "GET", "port"]),
        "port\n0",
        "no plain-text port"
    );

    // Plain text on the TLS port gets no PONG.
    let mut stream = connect(port).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    assert!(!String::from_utf8_lossy(&reply).contains("PONG"));

    // Without our CA the certificate does not verify.
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--tls", "PING"])
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("PONG"));

    // TLS and a password together.
    let both = RedisServer::builder().tls().password("bob", "pw").start();
    assert_eq!(
        both.url(),
        format!("rediss://bob:pw@127.0.0.1:{}/", both.port())
    );
    assert!(both.cli_without_auth(["PING"]).starts_with("NOAUTH"));
    assert_eq!(both.cli(["ACL", "WHOAMI"]), "bob");
}

#[test]
fn drop_stops_the_server_and_removes_its_directory() {
    if skip_redis() {
        return;
    }
    let server = RedisServer::start();
    let (port, dir, pid) = (
        server.port(),
        server.dir().to_owned(),
        server.pid().expect("pid"),
    );
    assert!(dir.join("redis.log").exists());
    assert_eq!(processes_matching(&format!("127.0.0.1:{port}")), vec![pid]);
    drop(server);
    assert!(!process_alive(pid));
    assert!(!dir.exists(), "{} removed", dir.display());
    assert!(connect(port).is_err());
    assert!(
        processes_matching(&dir.to_string_lossy()).is_empty(),
        "the watchdog is gone too"
    );
}

/// Set for the child process of `servers_do_not_outlive_their_test_process`.
const CHILD_ENV: &str = "IGNITER_REDIS_HARNESS_CHILD";

/// Run only as a child process (see below): starts the shared server and a
/// leaked one, prints their ports and directories, then returns (`exit`) or
/// hangs until killed (`hang`).
#[test]
#[ignore = "a child process of servers_do_not_outlive_their_test_process"]
fn child_process_leaving_servers_behind() {
    let Some(mode) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let leaked = RedisServer::start();
    for server in [shared(), &leaked] {
        println!("SERVER {} {}", server.port(), server.dir().display());
    }
    std::mem::forget(leaked);
    println!("READY");
    std::io::stdout().flush().expect("flush");
    if mode == "hang" {
        thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn servers_do_not_outlive_their_test_process() {
    if skip_redis() {
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    for mode in ["exit", "hang"] {
        let mut child = Command::new(&exe)
            .args([
                "child_process_leaving_servers_behind",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the test binary");
        let mut servers = Vec::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while stdout.read_line(&mut line).expect("read") > 0 {
            let line = std::mem::take(&mut line);
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix("SERVER ") {
                let (port, dir) = rest.split_once(' ').expect("port dir");
                servers.push((port.parse::<u16>().expect("port"), dir.to_owned()));
            }
            if line == "READY" {
                break;
            }
        }
        assert_eq!(servers.len(), 2, "{mode}: the child printed its servers");
        for (port, _) in &servers {
            assert!(
                connect(*port).is_ok(),
                "{mode}: server on {port} up while the child runs"
            );
        }
        if mode == "hang" {
            child.kill().expect("SIGKILL the child");
        } else {
            // Read the rest, or the child's harness fails writing its report.
            let mut rest = String::new();
            stdout.read_to_string(&mut rest).expect("read");
        }
        let status = child.wait().expect("wait");
        assert_eq!(status.success(), mode == "exit", "{mode}: {status}");
        for (port, dir) in &servers {
            let gone = eventually(Duration::from_secs(5), || {
                processes_matching(&format!("127.0.0.1:{port}")).is_empty()
                    && processes_matching(dir).is_empty()
                    && !Path::new(dir).exists()
            });
            assert!(
                gone,
                "{mode}: server on {port} left behind: pids {:?}, watchdog {:?}, dir exists {}",
                processes_matching(&format!("127.0.0.1:{port}")),
                processes_matching(dir),
                Path::new(dir).exists()
            );
            assert!(
                connect(*port).is_err(),
                "{mode}: {port} still accepts connections"
            );
        }
    }
}

#[test]
fn cluster_of_three_primaries_is_ok() {
    if skip_redis() {
        return;
    }
    let cluster = RedisCluster::start(3, 0);
    let nodes = cluster.nodes();
    assert_eq!(nodes.len(), 3);
    assert!(
        nodes
            .iter()
            .all(|node| node.role == Role::Primary && node.primary_port.is_none())
    );
    assert_eq!(
        cluster.seed_urls(),
        cluster
            .ports()
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}/"))
            .collect::<Vec<_>>()
    );
    for server in cluster.servers() {
        let info = server.cli(["CLUSTER", "INFO"]);
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");
        assert!(server.dir().join("nodes.conf").exists());
    }
    // Keys in every slot range, through redirections.
    let first = &cluster.servers()[0];
    for key in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(first.cli(["-c", "SET", key, key]), "OK");
    }
    for key in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(first.cli(["-c", "GET", key]), key);
    }
    let dirs: Vec<_> = cluster
        .servers()
        .iter()
        .map(|s| s.dir().to_owned())
        .collect();
    let ports = cluster.ports();
    drop(cluster);
    assert!(dirs.iter().all(|dir| !dir.exists()));
    assert!(ports.iter().all(|port| connect(*port).is_err()));
}

#[test]
fn cluster_with_replicas_fails_over() {
    if skip_redis() {
        return;
    }
    let cluster = RedisCluster::start(3, 1);
    let nodes = cluster.nodes();
    assert_eq!(nodes.len(), 6);
    assert_eq!(cluster.primaries().len(), 3);
    let replicas = cluster.replicas();
    assert_eq!(replicas.len(), 3);
    let replica = replicas[0];
    let old_primary = nodes
        .iter()
        .find(|node| node.port == replica)
        .and_then(|node| node.primary_port)
        .expect("a replica knows its primary");
    assert!(cluster.primaries().contains(&old_primary));

    cluster.failover(replica);
    let after = cluster.nodes();
    let promoted = after
        .iter()
        .find(|node| node.port == replica)
        .expect("node");
    assert_eq!(promoted.role, Role::Primary);
    let demoted = after
        .iter()
        .find(|node| node.port == old_primary)
        .expect("node");
    assert_eq!(
        (demoted.role, demoted.primary_port),
        (Role::Replica, Some(replica))
    );
    assert_eq!(cluster.primaries().len(), 3);
}

#[test]
fn missing_redis_server_says_how_to_install_it() {
    let message = locate("redis-server", Some(OsStr::new("/nonexistent-dir"))).expect_err("absent");
    assert_eq!(
        message,
        "redis-server not found: install it with `apt-get install -y redis-server redis-tools` \
         (or set IGNITER_STORE_SKIP_REDIS_TESTS=1 to skip the Redis tests)"
    );
    assert!(locate("redis-server", None).is_err());
    assert!(locate("sh", std::env::var_os("PATH").as_deref()).is_ok());
}
