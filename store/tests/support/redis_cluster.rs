//! A Redis Cluster of test servers: each node a [`RedisServer`] started with
//! [`cluster`](super::redis_server::RedisServerBuilder::cluster) (own port,
//! own directory and `nodes.conf`, the same watchdog), joined with
//! `redis-cli --cluster create`.

use std::fmt;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::redis_server::{RedisServer, require_binary, run_with_timeout};

/// How long the cluster may take to agree (`cluster_state:ok` everywhere).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a node is, as it says itself (`ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
}

/// A node of a [`RedisCluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub port: u16,
    pub role: Role,
    /// The port of its primary, for a replica.
    pub primary_port: Option<u16>,
}

/// A running Redis Cluster; dropping it stops every node and removes their
/// directories.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCluster")
            .field("ports", &self.ports())
            .finish()
    }
}

impl RedisCluster {
    /// Starts `primaries * (1 + replicas_per_primary)` nodes (in parallel),
    /// runs `redis-cli --cluster create … --cluster-replicas R --cluster-yes`
    /// and waits until every node says `cluster_state:ok` with all 16384 slots
    /// assigned and every node known, and every replica's link to its primary
    /// is up.
    ///
    /// # Panics
    ///
    /// With fewer than 3 primaries (Redis Cluster needs 3), or when the
    /// cluster is not ready within 30 s.
    pub fn start(primaries: usize, replicas_per_primary: usize) -> RedisCluster {
        RedisCluster::start_with_args(primaries, replicas_per_primary, &[])
    }

    /// [`RedisCluster::start`], each node started with `args` too (e.g.
    /// `["--enable-debug-command", "local"]`).
    pub fn start_with_args(
        primaries: usize,
        replicas_per_primary: usize,
        args: &[&str],
    ) -> RedisCluster {
        assert!(primaries >= 3, "a Redis Cluster needs at least 3 primaries");
        let count = primaries * (1 + replicas_per_primary);
        let node = || {
            args.iter()
                .fold(RedisServer::builder().cluster(), |b, a| b.arg(*a))
                .start()
        };
        let nodes: Vec<RedisServer> = thread::scope(|scope| {
            let handles: Vec<_> = (0..count).map(|_| scope.spawn(node)).collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let cluster = RedisCluster { nodes };

        let mut create = Command::new(require_binary("redis-cli"));
        create.arg("--cluster").arg("create");
        create.args(
            cluster
                .ports()
                .iter()
                .map(|port| format!("127.0.0.1:{port}")),
        );
        create
            .arg("--cluster-replicas")
            .arg(replicas_per_primary.to_string());
        create.arg("--cluster-yes");
        let output = run_with_timeout(create, READY_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("All 16384 slots covered"),
            "redis-cli --cluster create failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_ready(READY_TIMEOUT);
        cluster
    }

    /// The ports of every node, in start order.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// Every node with its current role (asked with `ROLE`).
    pub fn nodes(&self) -> Vec<ClusterNode> {
        self.nodes.iter().map(node_info).collect()
    }

    /// The ports of the nodes that are primaries now.
    pub fn primaries(&self) -> Vec<u16> {
        self.nodes()
            .into_iter()
            .filter(|n| n.role == Role::Primary)
            .map(|n| n.port)
            .collect()
    }

    /// The ports of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<u16> {
        self.nodes()
            .into_iter()
            .filter(|n| n.role == Role::Replica)
            .map(|n| n.port)
            .collect()
    }

    /// `redis://127.0.0.1:N/` for every node.
    pub fn seed_urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The servers, to kill, pause or restart one (a restarted node keeps its
    /// `nodes.conf`, so its identity).
    pub fn servers(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The server on `port`.
    ///
    /// # Panics
    ///
    /// When no node has that port.
    pub fn node(&self, port: u16) -> &RedisServer {
        self.nodes
            .iter()
            .find(|node| node.port() == port)
            .unwrap_or_else(|| panic!("no cluster node on port {port}"))
    }

    /// A manual failover: `CLUSTER FAILOVER` on the replica on `replica_port`,
    /// then waits until it is a primary in every node's view, its old primary
    /// has become its replica with its link up, and `cluster_state:ok`
    /// everywhere.
    ///
    /// # Panics
    ///
    /// When that node is not a replica, or the failover does not complete
    /// within 30 s.
    pub fn failover(&self, replica_port: u16) {
        let replica = self.node(replica_port);
        let before = node_info(replica);
        assert_eq!(
            before.role,
            Role::Replica,
            "failover({replica_port}): not a replica"
        );
        let old_primary = before.primary_port.expect("a replica has a primary");
        let reply = replica.cli(["CLUSTER", "FAILOVER"]);
        assert_eq!(reply, "OK", "CLUSTER FAILOVER on {replica_port}");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let promoted = node_info(replica).role == Role::Primary
                && self
                    .nodes
                    .iter()
                    .all(|node| flags_of(node, replica_port).contains(&"master".to_owned()));
            let demoted = node_info(self.node(old_primary)).primary_port == Some(replica_port);
            if promoted && demoted && self.not_ready_reason().is_none() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "failover to {replica_port} did not complete within {READY_TIMEOUT:?}: \
                 promoted {promoted}, old primary {old_primary} demoted {demoted}, {:?}\n{}",
                self.not_ready_reason(),
                replica.cli(["CLUSTER", "NODES"])
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the cluster is ready (see [`start`](Self::start)), e.g.
    /// after restarting a node.
    ///
    /// # Panics
    ///
    /// When it is not within `timeout`, with what is missing.
    pub fn wait_until_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(reason) = self.not_ready_reason() else {
                return;
            };
            assert!(
                Instant::now() < deadline,
                "the cluster on ports {:?} is not ready after {timeout:?}: {reason}",
                self.ports()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Why the cluster is not ready, or `None`.
    fn not_ready_reason(&self) -> Option<String> {
        let count = self.nodes.len().to_string();
        for node in &self.nodes {
            let info = match node.try_cli(["CLUSTER", "INFO"]) {
                Ok(info) => info,
                Err(error) => return Some(format!("node {}: {error}", node.port())),
            };
            let field = |name: &str| {
                info.lines()
                    .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
                    .unwrap_or("")
                    .to_owned()
            };
            for (name, want) in [
                ("cluster_state", "ok"),
                ("cluster_slots_assigned", "16384"),
                ("cluster_known_nodes", count.as_str()),
            ] {
                let got = field(name);
                if got != want {
                    return Some(format!("node {}: {name}:{got}", node.port()));
                }
            }
            if node_info(node).role == Role::Replica {
                let replication = node.try_cli(["INFO", "replication"]).unwrap_or_default();
                if !replication
                    .lines()
                    .any(|line| line.trim() == "master_link_status:up")
                {
                    return Some(format!(
                        "replica {}: link to its primary not up",
                        node.port()
                    ));
                }
            }
        }
        None
    }
}

/// `ROLE` of one node: `master …` or `slave <ip> <port> <state> <offset>`.
fn node_info(node: &RedisServer) -> ClusterNode {
    let role = node.cli(["ROLE"]);
    let lines: Vec<&str> = role.lines().map(str::trim).collect();
    match lines.first().copied() {
        Some("master") => ClusterNode {
            port: node.port(),
            role: Role::Primary,
            primary_port: None,
        },
        Some("slave") => ClusterNode {
            port: node.port(),
            role: Role::Replica,
            primary_port: lines.get(2).and_then(|port| port.parse().ok()),
        },
        _ => panic!("ROLE on {}: unexpected {role:?}", node.port()),
    }
}

/// The flags (`myself`, `master`, `slave`, `fail?`…) of the node on `port` in
/// `CLUSTER NODES` as `node` sees it.
fn flags_of(node: &RedisServer, port: u16) -> Vec<String> {
    let nodes = node.try_cli(["CLUSTER", "NODES"]).unwrap_or_default();
    let address = format!("127.0.0.1:{port}@");
    nodes
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1).is_some_and(|addr| addr.starts_with(&address)))
        .and_then(|fields| {
            fields
                .get(2)
                .map(|flags| flags.split(',').map(str::to_owned).collect())
        })
        .unwrap_or_default()
}
