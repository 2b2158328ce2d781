//! The stream administration cases of the conformance suite: groups and
//! consumers described, entries deleted, moved and claimed by id.

use std::time::Duration;

use igniter_store::ErrorCode;
use igniter_store::streams::{ConsumerInfo, GroupInfo};

use super::cases::{H, org};
use super::{Tenant, tenant, unique_service};

fn group<'a>(groups: &'a [GroupInfo], name: &str) -> &'a GroupInfo {
    groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name} in {groups:?}"))
}

fn consumer<'a>(consumers: &'a [ConsumerInfo], name: &str) -> &'a ConsumerInfo {
    consumers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no consumer {name} in {consumers:?}"))
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| name(i).to_owned()).collect()
}

pub async fn streams_groups_describe_each_group(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    assert!(st.groups("jobs").await.unwrap().is_empty(), "no stream");
    let mut ids = Vec::new();
    for i in 0..3u32 {
        ids.push(st.append("jobs", &i).await.unwrap());
    }
    // `b` first, to see that the groups come in name order
    st.group("b-late", "c")
        .ensure("jobs")
        .start_id("$")
        .await
        .unwrap();
    st.group("a-all", "c").ensure("jobs").await.unwrap();
    let groups = st.groups("jobs").await.unwrap();
    assert_eq!(names(&groups, |g| &g.name), ["a-all", "b-late"]);
    let all = group(&groups, "a-all");
    assert_eq!(
        (
            all.consumers,
            all.pending,
            all.last_delivered_id.as_str(),
            all.lag
        ),
        (0, 0, "0-0", Some(3))
    );
    let late = group(&groups, "b-late");
    assert_eq!(
        (late.consumers, late.pending, late.lag),
        (0, 0, Some(0)),
        "{late:?}"
    );
    assert_eq!(late.last_delivered_id, ids[2]);

    let read = st
        .group("a-all", "c1")
        .read::<u32>("jobs")
        .count(2)
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    st.group("a-all", "c2")
        .read::<u32>("jobs")
        .count(1)
        .await
        .unwrap();
    st.group("a-all", "c1")
        .ack("jobs", &[&ids[0]])
        .await
        .unwrap();
    let groups = st.groups("jobs").await.unwrap();
    let all = group(&groups, "a-all");
    assert_eq!(
        (
            all.consumers,
            all.pending,
            all.last_delivered_id.as_str(),
            all.lag
        ),
        (2, 2, ids[2].as_str(), Some(0))
    );
    ids.push(st.append("jobs", &3u32).await.unwrap());
    ids.push(st.append("jobs", &4u32).await.unwrap());
    let groups = st.groups("jobs").await.unwrap();
    assert_eq!(group(&groups, "a-all").lag, Some(2));
    // Redis 7.0 counts a group's reads from its first read on; a group that
    // has read nothing since it started at `$` has an unknown lag once the
    // stream grows.
    assert_eq!(group(&groups, "b-late").lag, None);
    // A deleted entry ahead of a group: Redis 7.0 no longer knows its lag.
    assert_eq!(st.delete("jobs", &[ids[3].clone()]).await.unwrap(), 1);
    let groups = st.groups("jobs").await.unwrap();
    assert_eq!(group(&groups, "a-all").lag, None, "{groups:?}");
    // Reading past it makes the lag known again, the deleted entry counted
    // as unread (Redis 7.0 answers 1 here).
    st.group("a-all", "c1").read::<u32>("jobs").await.unwrap();
    let groups = st.groups("jobs").await.unwrap();
    let all = group(&groups, "a-all");
    assert_eq!(
        (all.lag, all.last_delivered_id.as_str()),
        (Some(1), ids[4].as_str())
    );
    // a string is not a stream
    s.kv().set("k", &1).await.unwrap();
    let kv_key = s.kv().key("k").unwrap();
    assert_eq!(
        s.adapter().xinfo_groups(&kv_key).await.unwrap_err().code(),
        ErrorCode::WrongType
    );
}

pub async fn streams_consumers_pending_and_idle(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let g1 = st.group("g", "c1");
    assert!(g1.consumers("jobs").await.unwrap().is_empty(), "no stream");
    g1.ensure("jobs").await.unwrap();
    assert!(
        g1.consumers("jobs").await.unwrap().is_empty(),
        "no consumer yet"
    );
    assert!(
        st.group("nope", "c")
            .consumers("jobs")
            .await
            .unwrap()
            .is_empty(),
        "no group"
    );
    for i in 0..3u32 {
        st.append("jobs", &i).await.unwrap();
    }
    let mine = g1.read::<u32>("jobs").count(2).await.unwrap();
    let g2 = st.group("g", "c2");
    g2.read::<u32>("jobs").await.unwrap();
    let consumers = g1.consumers("jobs").await.unwrap();
    assert_eq!(names(&consumers, |c| &c.name), ["c1", "c2"]);
    assert_eq!(consumer(&consumers, "c1").pending, 2);
    assert_eq!(consumer(&consumers, "c2").pending, 1);
    let before = consumer(&consumers, "c1").idle;

    tokio::time::sleep(Duration::from_millis(120)).await;
    g1.ack("jobs", &[&mine[0].id]).await.unwrap();
    let consumers = g1.consumers("jobs").await.unwrap();
    let c1 = consumer(&consumers, "c1");
    assert_eq!(
        c1.pending, 1,
        "an ack leaves the consumer, one fewer pending"
    );
    assert!(
        c1.idle >= before + Duration::from_millis(100),
        "idle grows: {before:?} then {:?}",
        c1.idle
    );
    // a delivery makes a consumer active again
    st.append("jobs", &3u32).await.unwrap();
    g1.read::<u32>("jobs").await.unwrap();
    let consumers = g1.consumers("jobs").await.unwrap();
    assert!(consumer(&consumers, "c1").idle < Duration::from_millis(100));
    assert!(consumer(&consumers, "c2").idle >= Duration::from_millis(100));
    assert_eq!(consumer(&consumers, "c1").pending, 2);
    // a removed consumer is gone
    assert_eq!(g2.remove_consumer("jobs").await.unwrap(), 1);
    let consumers = g1.consumers("jobs").await.unwrap();
    assert_eq!(names(&consumers, |c| &c.name), ["c1"]);
    assert_eq!(
        st.group("", "c")
            .consumers("jobs")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::StreamGroupRequired
    );
}

pub async fn streams_delete_removes_entries(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    assert_eq!(
        st.delete("jobs", &["1-1".to_owned()]).await.unwrap(),
        0,
        "no stream"
    );
    let mut ids = Vec::new();
    for i in 0..4u32 {
        ids.push(st.append("jobs", &i).await.unwrap());
    }
    let g = st.group("g", "c");
    g.ensure("jobs").await.unwrap();
    g.read::<u32>("jobs").count(1).await.unwrap();
    let gone = [
        ids[0].clone(),
        ids[2].clone(),
        "1-1".to_owned(),
        ids[2].clone(),
    ];
    assert_eq!(st.delete("jobs", &gone).await.unwrap(), 2);
    let left: Vec<u32> = st
        .range::<u32>("jobs")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data.unwrap())
        .collect();
    assert_eq!(left, [1, 3]);
    assert_eq!(st.delete("jobs", &gone).await.unwrap(), 0, "deleted once");
    assert_eq!(st.delete("jobs", &[]).await.unwrap(), 0);
    // a deleted entry stays pending, as in Redis
    assert_eq!(g.pending("jobs").await.unwrap().count, 1);
    // an invalid id: nothing is deleted
    let bad = [ids[1].clone(), "not-an-id".to_owned()];
    assert_eq!(
        st.delete("jobs", &bad).await.unwrap_err().code(),
        ErrorCode::StreamIdInvalid
    );
    assert_eq!(st.len("jobs").await.unwrap(), 2);
    // ids keep growing after a delete of the last entry
    assert_eq!(st.delete("jobs", &[ids[3].clone()]).await.unwrap(), 1);
    let next = st.append("jobs", &4u32).await.unwrap();
    assert!(id_order(&next) > id_order(&ids[3]));
}

fn id_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// On every backend with the scope hash tag (one slot per tenant on a
/// cluster); without it, on a backend that refuses a move across slots,
/// the refusal moves nothing.
pub async fn streams_move_entry_moves_once(h: H) {
    let s = igniter_store::Store::builder()
        .shared_adapter(h.adapter().await)
        .service(unique_service())
        .scopes::<Tenant>()
        .scope_hash_tag()
        .build()
        .unwrap()
        .scope(tenant::Organization, "o")
        .unwrap();
    let st = s.streams();
    let keep = st.append("jobs", &"keep").await.unwrap();
    let id = st.append("jobs", &"poison").await.unwrap();
    let moved = st
        .move_entry("jobs", &id, "jobs:dead")
        .await
        .unwrap()
        .expect("the entry moves");
    assert_eq!(
        st.move_entry("jobs", &id, "jobs:dead").await.unwrap(),
        None,
        "a second move finds nothing"
    );
    let dead = st.range::<String>("jobs:dead").await.unwrap();
    assert_eq!(dead.len(), 1, "moved once");
    assert_eq!(dead[0].id, moved, "under its new id");
    assert_eq!(
        dead[0].raw.as_deref(),
        Some(&b"\"poison\""[..]),
        "the same payload"
    );
    let left = st.range::<String>("jobs").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, keep, "gone from the source, the rest untouched");
    // an entry that never was, or a stream that never was: nothing moves
    assert_eq!(st.move_entry("jobs", "1-1", "other").await.unwrap(), None);
    assert_eq!(
        st.move_entry("nothing", &keep, "other").await.unwrap(),
        None
    );
    assert_eq!(st.len("other").await.unwrap(), 0, "no target made");
    // within one stream: to its end, under a new id
    let again = st.move_entry("jobs", &keep, "jobs").await.unwrap().unwrap();
    assert!(id_order(&again) > id_order(&moved));
    assert_eq!(st.len("jobs").await.unwrap(), 1);
    // a target of another type: refused, nothing lost
    s.kv().set("k", &1).await.unwrap();
    let string_stream = s.kv().key("k").unwrap();
    let jobs = st.key("jobs").unwrap();
    let refused = s.adapter().xmove(&jobs, &again, &string_stream).await;
    assert_eq!(refused.unwrap_err().code(), ErrorCode::WrongType);
    assert_eq!(st.len("jobs").await.unwrap(), 1, "nothing lost");
    for bad in ["5", "not-an-id", "-", "+", "1-1 FORCE"] {
        assert_eq!(
            st.move_entry("jobs", bad, "x").await.unwrap_err().code(),
            ErrorCode::StreamIdInvalid,
            "{bad}"
        );
    }

    // Without the hash tag: two slots on a cluster (usually).
    let s = org(h, "o").await;
    let st = s.streams();
    let id = st.append("jobs", &"poison").await.unwrap();
    let (from, to) = (st.key("jobs").unwrap(), st.key("jobs:dead").unwrap());
    let result = st.move_entry("jobs", &id, "jobs:dead").await;
    if h.moves_between(&from, &to) {
        assert!(result.unwrap().is_some());
        assert_eq!(
            (
                st.len("jobs").await.unwrap(),
                st.len("jobs:dead").await.unwrap()
            ),
            (0, 1)
        );
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.code(), ErrorCode::StreamCrossSlot, "{err}");
        assert_eq!(
            (
                st.len("jobs").await.unwrap(),
                st.len("jobs:dead").await.unwrap()
            ),
            (1, 0),
            "nothing moved"
        );
    }
}

pub async fn streams_claim_takes_named_pending_entries(h: H) {
    let s = org(h, "o").await;
    let st = s.streams();
    let (c1, c2) = (st.group("g", "c1"), st.group("g", "c2"));
    c1.ensure("jobs").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4u32 {
        ids.push(st.append("jobs", &i).await.unwrap());
    }
    assert_eq!(c1.read::<u32>("jobs").count(3).await.unwrap().len(), 3);

    // not idle long enough: nothing moves, and c2 is not made a consumer
    let first_two = [ids[0].clone(), ids[1].clone()];
    assert!(
        c2.claim::<u32>("jobs", &first_two, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    let consumers = c1.consumers("jobs").await.unwrap();
    assert_eq!(names(&consumers, |c| &c.name), ["c1"]);

    tokio::time::sleep(Duration::from_millis(80)).await;
    let claimed = c2
        .claim::<u32>("jobs", &[ids[0].clone()], Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id.as_str(), claimed[0].data.as_ref().ok()),
        (ids[0].as_str(), Some(&0))
    );
    let pending = c1.pending_entries("jobs").await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.consumer.as_str(), p.deliveries))
            .collect::<Vec<_>>(),
        [("c2", 2), ("c1", 1), ("c1", 1)]
    );
    // claimed again at once: min_idle counts from the last claim
    assert!(
        c1.claim::<u32>("jobs", &[ids[0].clone()], Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    // a zero min_idle takes it whatever its idle time, and counts a delivery
    let back = c1
        .claim::<u32>("jobs", &[ids[0].clone()], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    let pending = c1.pending_entries("jobs").await.unwrap();
    assert_eq!(
        (pending[0].consumer.as_str(), pending[0].deliveries),
        ("c1", 3)
    );

    // deleted entries leave the pending list and are not returned; an entry
    // never delivered (ids[3]) or unknown is left alone
    st.delete("jobs", &[ids[1].clone()]).await.unwrap();
    let asked = [
        ids[1].clone(),
        ids[2].clone(),
        ids[3].clone(),
        "1-1".to_owned(),
    ];
    let claimed = c2
        .claim::<u32>("jobs", &asked, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(names(&claimed, |e| &e.id), [ids[2].clone()]);
    let pending = c1.pending_entries("jobs").await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id.as_str(), p.consumer.as_str()))
            .collect::<Vec<_>>(),
        [(ids[0].as_str(), "c1"), (ids[2].as_str(), "c2")]
    );
    let consumers = c1.consumers("jobs").await.unwrap();
    assert_eq!(
        consumers
            .iter()
            .map(|c| (c.name.as_str(), c.pending))
            .collect::<Vec<_>>(),
        [("c1", 1), ("c2", 1)]
    );

    assert!(
        c2.claim::<u32>("jobs", &[], Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    for bad in ["5", "nope", "FORCE", "RETRYCOUNT"] {
        let err = c2
            .claim::<u32>("jobs", &[bad.to_owned()], Duration::ZERO)
            .await;
        assert_eq!(err.unwrap_err().code(), ErrorCode::StreamIdInvalid, "{bad}");
    }
    let err = st
        .group("nope", "c")
        .claim::<u32>("jobs", &[ids[0].clone()], Duration::ZERO)
        .await;
    assert_eq!(err.unwrap_err().code(), ErrorCode::StreamGroupNotFound);
    let err = c2
        .claim::<u32>("missing", &[ids[0].clone()], Duration::ZERO)
        .await;
    assert_eq!(err.unwrap_err().code(), ErrorCode::StreamGroupNotFound);
}

/// The administration operations act on the handle's own stream key: a
/// tenant's groups, entries and pending entries are out of another's reach
/// by name and by id.
pub async fn streams_admin_stays_in_its_tenant(h: H) {
    let root = super::store(h).await;
    let a = root.scope(tenant::Organization, "a").unwrap();
    let b = root.scope(tenant::Organization, "b").unwrap();
    let ga = a.streams().group("g", "c");
    ga.ensure("jobs").await.unwrap();
    let id = a.streams().append("jobs", &1u32).await.unwrap();
    ga.read::<u32>("jobs").await.unwrap();
    let ids = [id.clone()];

    let (bs, gb) = (b.streams(), b.streams().group("g", "c"));
    assert!(bs.groups("jobs").await.unwrap().is_empty());
    assert!(gb.consumers("jobs").await.unwrap().is_empty());
    assert_eq!(bs.delete("jobs", &ids).await.unwrap(), 0);
    // within one stream, so that a cluster's slots do not matter
    assert_eq!(bs.move_entry("jobs", &id, "jobs").await.unwrap(), None);
    assert_eq!(
        gb.claim::<u32>("jobs", &ids, Duration::ZERO)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::StreamGroupNotFound
    );
    gb.ensure("jobs").await.unwrap();
    assert!(
        gb.claim::<u32>("jobs", &ids, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(a.streams().len("jobs").await.unwrap(), 1);
    let groups = a.streams().groups("jobs").await.unwrap();
    assert_eq!(
        (groups.len(), groups[0].pending, groups[0].consumers),
        (1, 1, 1)
    );
    assert_eq!(ga.pending_entries("jobs").await.unwrap()[0].deliveries, 1);
}
