//! What only a cluster asks of the store, on [`RedisClusterAdapter`] against
//! a 3-primary Redis Cluster this test binary starts for itself. The
//! conformance suite on it runs in `conformance_suite.rs`.

mod conformance;
mod support;

use std::collections::HashSet;
use std::sync::OnceLock;

use conformance::Tenant;
use futures::TryStreamExt;
use igniter_store::{RedisClusterAdapter, Store, batch::BatchEntry};

fn cluster() -> &'static support::RedisCluster {
    static CLUSTER: OnceLock<support::RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| support::RedisCluster::start(3, 0))
}

async fn store(hash_tag: bool) -> Option<Store<Tenant>> {
    if support::skip_redis() {
        return None;
    }
    let adapter = RedisClusterAdapter::connect(cluster().seed_urls())
        .await
        .unwrap();
    let builder = Store::builder()
        .adapter(adapter)
        .service(conformance::unique_service())
        .scopes::<Tenant>();
    let builder = if hash_tag {
        builder.scope_hash_tag()
    } else {
        builder
    };
    Some(builder.build().unwrap())
}

fn slot(key: &str) -> u16 {
    let node = &cluster().servers()[0];
    node.cli(["CLUSTER", "KEYSLOT", key])
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_1000_keys_over_every_slot() {
    let Some(root) = store(false).await else {
        return;
    };
    let s = root.scope(Tenant::Organization, "o").unwrap();
    let keys: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    let slots: HashSet<u16> = keys
        .iter()
        .map(|k| slot(&s.kv().key(k).unwrap()))
        .take(50)
        .collect();
    assert!(slots.len() > 40, "the keys spread over many slots");
    let values: Vec<u32> = (0..1000).collect();
    s.batch()
        .set(
            keys.iter().zip(&values).map(|(k, v)| {
                BatchEntry::new(k.as_str(), v).ttl(std::time::Duration::from_secs(60))
            }),
        )
        .await
        .unwrap();
    let read: Vec<Option<u32>> = s.batch().get(&keys).await.unwrap();
    assert_eq!(
        read,
        values.iter().copied().map(Some).collect::<Vec<_>>(),
        "in order"
    );
    assert_eq!(s.purge().await.unwrap(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_of_10000_keys_over_three_primaries() {
    let Some(root) = store(false).await else {
        return;
    };
    let s = root.scope(Tenant::Organization, "o").unwrap();
    let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
    for chunk in keys.chunks(500) {
        s.batch()
            .set(chunk.iter().map(|k| BatchEntry::new(k.as_str(), &1u8)))
            .await
            .unwrap();
    }
    // every primary holds some
    for port in cluster().primaries() {
        let n: u64 = cluster().node(port).cli(["DBSIZE"]).trim().parse().unwrap();
        assert!(n > 1000, "primary {port} holds {n} keys");
    }
    let scanned: HashSet<String> = s.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(scanned, keys.iter().cloned().collect::<HashSet<_>>());
    assert_eq!(s.purge().await.unwrap(), 10_000);
    let left: Vec<String> = s.dev().scan_all("*").try_collect().await.unwrap();
    assert!(left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_hash_tag_keeps_a_tenant_in_one_slot() {
    let Some(root) = store(true).await else {
        return;
    };
    let org = root.scope(Tenant::Organization, "org_1").unwrap();
    let ws = org.scope(Tenant::Workspace, "{x}").unwrap();
    let key = ws.kv().key("a").unwrap();
    assert!(
        key.contains(":{organization:org_1}:ws:%7Bx%7D:kv:a"),
        "{key}"
    );
    let slots: HashSet<u16> = (0..100)
        .map(|i| slot(&ws.kv().key(&format!("k{i}")).unwrap()))
        .chain([slot(&org.counter().key("c").unwrap())])
        .chain([slot(&org.claim().key("l").unwrap())])
        .collect();
    assert_eq!(slots.len(), 1, "one slot for the whole tenant");
    // so a batch is one MULTI/EXEC, and claims with fencing work
    let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    ws.batch()
        .set(keys.iter().map(|k| BatchEntry::new(k.as_str(), &7u8)))
        .await
        .unwrap();
    let read: Vec<Option<u8>> = ws.batch().get(&keys).await.unwrap();
    assert!(read.iter().all(|v| *v == Some(7)));
    let claim = org
        .claim()
        .acquire("l", std::time::Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(claim.release().await.unwrap());
    // an identifier's braces cannot make another tag
    let sneaky = root.scope(Tenant::Organization, "}{evil").unwrap();
    assert!(
        sneaky
            .kv()
            .key("a")
            .unwrap()
            .contains(":{organization:%7D%7Bevil}:")
    );
    assert_eq!(
        org.purge().await.unwrap(),
        101,
        "100 entries and the fencing counter"
    );
}

/// Keys under a tenant that the store did not write (not UTF-8, other
/// types), spread over the primaries: scans skip what they cannot name
/// without failing, and a purge of the tenant removes every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_in_a_tenant_are_purged() {
    let Some(store) = store(false).await else {
        return;
    };
    let acme = store.scope(Tenant::Organization, "acme").unwrap();
    let other = store.scope(Tenant::Organization, "other").unwrap();
    for i in 0..20u32 {
        acme.kv().set(&format!("k{i}"), &i).await.unwrap();
        other.kv().set(&format!("k{i}"), &i).await.unwrap();
    }
    let base = acme.kv().key("x").unwrap();
    let base = base.strip_suffix(":kv:x").unwrap().to_owned();
    let adapter = store.adapter_as::<RedisClusterAdapter>().unwrap();
    let mut con = adapter.connection().unwrap();
    let mut foreign = Vec::new();
    for i in 0..10u8 {
        let key = [format!("{base}:kv:").as_bytes(), &[0xff, i]].concat();
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .query_async(&mut con)
            .await
            .unwrap();
        foreign.push(key);
        let key = format!("{base}:kv:h{i}");
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("f")
            .arg("v")
            .query_async(&mut con)
            .await
            .unwrap();
        foreign.push(key.into_bytes());
    }
    let scanned: Vec<String> = acme.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(
        scanned.len(),
        30,
        "20 own keys and 10 hashes; no UTF-8, no name"
    );
    assert_eq!(acme.purge().await.unwrap(), 40);
    for key in &foreign {
        let exists: u64 = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    }
    let left: Vec<String> = other.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(left.len(), 20, "the other tenant is whole");
}

/// `calls` of SCAN on every primary, from `INFO commandstats`.
fn scans() -> u64 {
    cluster()
        .primaries()
        .into_iter()
        .map(|port| {
            cluster()
                .node(port)
                .cli(["INFO", "commandstats"])
                .lines()
                .find_map(|l| l.strip_prefix("cmdstat_scan:calls="))
                .and_then(|rest| rest.split(',').next())
                .map_or(0, |n| n.parse::<u64>().unwrap())
        })
        .sum()
}

/// With the scope hash tag, a tenant's keys are listed from its one slot
/// (`CLUSTER GETKEYSINSLOT`), not by a SCAN of every primary: no SCAN is
/// sent, and another tenant that hashes to the same slot, and a key outside
/// the store with the same tag, are left whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_tenant_is_listed_and_purged_from_its_slot_alone() {
    use redis::cluster_routing::Slot;
    let Some(store) = store(true).await else {
        return;
    };
    let tag = |id: &str| Slot::for_key(format!("{{organization:{id}}}"));
    let twin = (0..100_000)
        .map(|i| format!("twin{i}"))
        .find(|id| tag(id) == tag("acme"))
        .expect("an identifier whose tag hashes to acme's slot");
    let acme = store.scope(Tenant::Organization, "acme").unwrap();
    let twin = store.scope(Tenant::Organization, twin.as_str()).unwrap();
    for s in [&acme, &twin] {
        for i in 0..50u32 {
            s.kv().set(&format!("k{i}"), &i).await.unwrap();
        }
        s.counter().increment("c").await.unwrap();
        s.scope(Tenant::Workspace, "w")
            .unwrap()
            .kv()
            .set("deep", &1u8)
            .await
            .unwrap();
    }
    let adapter = store.adapter_as::<RedisClusterAdapter>().unwrap();
    let mut con = adapter.connection().unwrap();
    let base = acme.kv().key("x").unwrap();
    let base = base.strip_suffix(":kv:x").unwrap().to_owned();
    // Outside the store, in the same slot: not below acme's prefix.
    let outside = "elsewhere:{organization:acme}".to_owned();
    // Below acme's prefix, not written by the store (not UTF-8).
    let foreign = [format!("{base}:kv:").as_bytes(), &[0xff]].concat();
    for key in [outside.as_bytes(), &foreign] {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .query_async(&mut con)
            .await
            .unwrap();
    }

    let before = scans();
    let mut listed: Vec<String> = acme.dev().scan_all("*").try_collect().await.unwrap();
    listed.sort();
    assert_eq!(listed.len(), 50, "acme's own kv keys, not its twin's");
    assert!(listed.iter().all(|k| k.starts_with('k')), "{listed:?}");
    assert_eq!(
        acme.purge().await.unwrap(),
        53,
        "50 + counter + deep + foreign"
    );
    assert_eq!(scans(), before, "no SCAN: the slot alone was read");

    let left: Vec<String> = acme.dev().scan_all("*").try_collect().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let twin_left: Vec<String> = twin.dev().scan_all("*").try_collect().await.unwrap();
    assert_eq!(twin_left.len(), 50, "the twin is whole");
    assert_eq!(twin.counter().get("c").await.unwrap(), 1);
    let exists: u64 = redis::cmd("EXISTS")
        .arg(&outside)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 1, "a key outside the store survives");
}
