//! The stream administration commands of the Redis adapters: `XINFO GROUPS`,
//! `XINFO CONSUMERS`, `XDEL`, `XCLAIM`, and the move of one entry between
//! two streams, one Lua script.
//!
//! `XINFO` replies are read by field name, as a RESP3 map or a RESP2 flat
//! array, so fields added by later Redis versions (7.2's `inactive`) and
//! missing ones (`lag` before 7.0, or nil) are taken in their stride.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, Value};

use super::commands::{Conn, ms_arg};
use super::map_error;
use super::streams::{entries, int, into_text, items, protocol_error, text};
use crate::adapter::streams::{ConsumerInfo, GroupInfo, GroupRead, RawEntry, check_entry_id};
use crate::error::StoreResult;

/// The move: `XRANGE from id id`, then `XADD to *` with the entry's fields,
/// then `XDEL from id`; nil when `from` has no such entry. A failing `XADD`
/// (the target holds another type) stops the script before anything is
/// written, so the entry is never lost nor doubled.
static MOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
local entry = found[1]
if not entry then return false end
local id = redis.call('XADD', KEYS[2], '*', unpack(entry[2]))
redis.call('XDEL', KEYS[1], ARGV[1])
return id",
    )
});

/// A reply of `XINFO`: `(name, value)` pairs, from a RESP3 map or a RESP2
/// flat array.
fn fields(v: Value) -> Option<Vec<(String, Value)>> {
    match v {
        Value::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| Some((into_text(k)?, v)))
            .collect(),
        other => {
            let mut flat = items(other)?.into_iter();
            let mut pairs = Vec::new();
            while let Some(name) = flat.next() {
                pairs.push((into_text(name)?, flat.next()?));
            }
            Some(pairs)
        }
    }
}

fn field<'v>(pairs: &'v [(String, Value)], name: &str) -> Option<&'v Value> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Whether Redis refused because the key (or the group) does not exist,
/// which these commands answer as "nothing".
fn missing(e: &redis::RedisError) -> bool {
    e.code() == Some("NOGROUP") || super::detail_has(e, "no such key")
}

fn group_info(v: Value) -> Option<GroupInfo> {
    let pairs = fields(v)?;
    let lag = match field(&pairs, "lag") {
        None | Some(Value::Nil) => None,
        Some(lag) => Some(int(lag)?),
    };
    Some(GroupInfo::new(
        text(field(&pairs, "name")?)?,
        int(field(&pairs, "consumers")?)?,
        int(field(&pairs, "pending")?)?,
        text(field(&pairs, "last-delivered-id")?)?,
        lag,
    ))
}

fn consumer_info(v: Value) -> Option<ConsumerInfo> {
    let pairs = fields(v)?;
    Some(ConsumerInfo::new(
        text(field(&pairs, "name")?)?,
        int(field(&pairs, "pending")?)?,
        Duration::from_millis(int(field(&pairs, "idle")?)?),
    ))
}

pub(crate) async fn info_groups(con: &mut impl Conn, key: &str) -> StoreResult<Vec<GroupInfo>> {
    let reply: Value = match redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(key)
        .query_async(con)
        .await
    {
        Ok(reply) => reply,
        Err(e) if missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(map_error(e)),
    };
    items(reply)
        .and_then(|groups| groups.into_iter().map(group_info).collect())
        .ok_or_else(|| protocol_error("XINFO GROUPS"))
}

pub(crate) async fn info_consumers(
    con: &mut impl Conn,
    key: &str,
    group: &str,
) -> StoreResult<Vec<ConsumerInfo>> {
    let reply: Value = match redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(key)
        .arg(group)
        .query_async(con)
        .await
    {
        Ok(reply) => reply,
        Err(e) if missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(map_error(e)),
    };
    items(reply)
        .and_then(|consumers| consumers.into_iter().map(consumer_info).collect())
        .ok_or_else(|| protocol_error("XINFO CONSUMERS"))
}

pub(crate) async fn del(con: &mut impl Conn, key: &str, ids: &[String]) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    redis::cmd("XDEL")
        .arg(key)
        .arg(ids)
        .query_async(con)
        .await
        .map_err(map_error)
}

/// `XCLAIM`; the ids are checked first: an argument after the ids that is
/// not an id is read by Redis as an option (`FORCE`, `RETRYCOUNT`, ...).
pub(crate) async fn claim(
    con: &mut impl Conn,
    key: &str,
    read: &GroupRead,
    min_idle: Duration,
    ids: &[String],
) -> StoreResult<Vec<RawEntry>> {
    for id in ids {
        check_entry_id(id)?;
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let reply: Value = redis::cmd("XCLAIM")
        .arg(key)
        .arg(&read.group)
        .arg(&read.consumer)
        .arg(ms_arg(min_idle))
        .arg(ids)
        .query_async(con)
        .await
        .map_err(map_error)?;
    entries(reply).ok_or_else(|| protocol_error("XCLAIM"))
}

pub(crate) async fn move_entry(
    con: &mut impl Conn,
    from: &str,
    id: &str,
    to: &str,
) -> StoreResult<Option<String>> {
    check_entry_id(id)?;
    let reply: Value = MOVE
        .key(from)
        .key(to)
        .arg(id)
        .invoke_async(con)
        .await
        .map_err(map_error)?;
    match reply {
        Value::Nil => Ok(None),
        other => text(&other)
            .map(Some)
            .ok_or_else(|| protocol_error("the move script")),
    }
}
