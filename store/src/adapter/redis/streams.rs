//! The stream commands of [`RedisAdapter`](super::RedisAdapter).
//!
//! Blocking group reads run on connections of their own (see
//! [`BlockingPool`](super::blocking::BlockingPool)). Those connections have no
//! response timeout of their own: the store's deadline, extended by the block
//! time, bounds them.

use std::time::Duration;

use bytes::Bytes;
use redis::{Cmd, Value};

use super::commands::{Conn, INTEGER, KeyArg, command, ms_arg};
use super::map_error;
use crate::adapter::streams::{
    AutoClaim, DATA_FIELD, GroupRead, MaxLen, PendingEntry, PendingSummary, RangeQuery, RawEntry,
};
use crate::error::{ErrorCode, StoreError, StoreResult};

pub(super) fn protocol_error(what: &str) -> StoreError {
    StoreError::new(
        ErrorCode::OperationFailed,
        format!("Redis answered {what} in an unexpected shape"),
    )
}

pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

pub(super) fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => text(other)?.parse().ok(),
    }
}

pub(super) fn items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Some(items),
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

/// `v` as a string, taking its bytes rather than copying them.
pub(super) fn into_text(v: Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        other => text(&other),
    }
}

/// Whether a field name is `data`, without making a string of it.
fn is_data_field(v: &Value) -> bool {
    match v {
        Value::BulkString(b) => b == DATA_FIELD.as_bytes(),
        Value::SimpleString(s) => s == DATA_FIELD,
        Value::VerbatimString { text, .. } => text == DATA_FIELD,
        _ => false,
    }
}

/// One entry: `[id, [field, value, ...]]`.
fn entry(v: Value) -> Option<RawEntry> {
    let mut parts = items(v)?.into_iter();
    let id = into_text(parts.next()?)?;
    let fields = match parts.next()? {
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => items(other)?,
    };
    let mut data = None;
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if is_data_field(&name)
            && let Value::BulkString(bytes) = value
        {
            data = Some(Bytes::from(bytes));
        }
    }
    Some(RawEntry { id, data })
}

pub(super) fn entries(v: Value) -> Option<Vec<RawEntry>> {
    // XAUTOCLAIM in Redis 6.2 leaves nil in place of deleted entries.
    items(v)?
        .into_iter()
        .filter(|e| !matches!(e, Value::Nil))
        .map(entry)
        .collect()
}

fn max_len_args(cmd: &mut Cmd, max_len: MaxLen) {
    cmd.arg("MAXLEN");
    if max_len.approximate {
        cmd.arg("~");
    }
    cmd.arg(max_len.len);
}

pub(crate) async fn xadd(
    con: &mut impl Conn,
    key: impl KeyArg,
    payload: &[u8],
    max_len: Option<MaxLen>,
) -> StoreResult<String> {
    // XADD key [MAXLEN [~] n] * data payload
    let data = key.byte_len() + 6 + 1 + INTEGER + 1 + DATA_FIELD.len() + payload.len();
    let mut cmd = command("XADD", 8, data);
    cmd.arg(key);
    if let Some(max_len) = max_len {
        max_len_args(&mut cmd, max_len);
    }
    cmd.arg("*").arg(DATA_FIELD).arg(payload);
    cmd.query_async(con).await.map_err(map_error)
}

pub(crate) async fn xrange(
    con: &mut impl Conn,
    key: &str,
    query: &RangeQuery,
) -> StoreResult<Vec<RawEntry>> {
    let mut cmd = if query.reverse {
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(key).arg(&query.end).arg(&query.start);
        cmd
    } else {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(key).arg(&query.start).arg(&query.end);
        cmd
    };
    if let Some(count) = query.count {
        cmd.arg("COUNT").arg(count);
    }
    let reply: Value = cmd.query_async(con).await.map_err(map_error)?;
    entries(reply).ok_or_else(|| protocol_error("XRANGE"))
}

pub(crate) async fn xlen(con: &mut impl Conn, key: &str) -> StoreResult<u64> {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn xtrim(con: &mut impl Conn, key: &str, max_len: MaxLen) -> StoreResult<u64> {
    let mut cmd = redis::cmd("XTRIM");
    cmd.arg(key);
    max_len_args(&mut cmd, max_len);
    cmd.query_async(con).await.map_err(map_error)
}

pub(crate) async fn group_create(
    con: &mut impl Conn,
    key: &str,
    group: &str,
    start_id: &str,
) -> StoreResult<bool> {
    let reply: Result<(), _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg(group)
        .arg(start_id)
        .arg("MKSTREAM")
        .query_async(con)
        .await;
    match reply {
        Ok(()) => Ok(true),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(false),
        Err(e) => Err(map_error(e)),
    }
}

pub(crate) async fn delconsumer(
    con: &mut impl Conn,
    key: &str,
    group: &str,
    consumer: &str,
) -> StoreResult<u64> {
    redis::cmd("XGROUP")
        .arg("DELCONSUMER")
        .arg(key)
        .arg(group)
        .arg(consumer)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn readgroup(
    con: &mut impl Conn,
    key: &str,
    read: &GroupRead,
) -> StoreResult<Vec<RawEntry>> {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP").arg(&read.group).arg(&read.consumer);
    if let Some(count) = read.count {
        cmd.arg("COUNT").arg(count);
    }
    if let Some(block) = read.block {
        cmd.arg("BLOCK").arg(ms_arg(block).max(1));
    }
    cmd.arg("STREAMS").arg(key).arg(">");
    let reply: Value = cmd.query_async(con).await.map_err(map_error)?;
    // [[key, entries]] (RESP2) or {key: entries} (RESP3); nil on timeout.
    let streams: Vec<Value> = match reply {
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        other => items(other)
            .ok_or_else(|| protocol_error("XREADGROUP"))?
            .into_iter()
            .filter_map(|pair| items(pair)?.into_iter().nth(1))
            .collect(),
    };
    let mut out = Vec::new();
    for stream in streams {
        out.extend(entries(stream).ok_or_else(|| protocol_error("XREADGROUP"))?);
    }
    Ok(out)
}

pub(crate) async fn ack(
    con: &mut impl Conn,
    key: &str,
    group: &str,
    ids: &[String],
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    redis::cmd("XACK")
        .arg(key)
        .arg(group)
        .arg(ids)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn pending_summary(
    con: &mut impl Conn,
    key: &str,
    group: &str,
) -> StoreResult<PendingSummary> {
    let reply: Value = redis::cmd("XPENDING")
        .arg(key)
        .arg(group)
        .query_async(con)
        .await
        .map_err(map_error)?;
    let parts = items(reply).ok_or_else(|| protocol_error("XPENDING"))?;
    let [count, min, max, consumers] =
        <[Value; 4]>::try_from(parts).map_err(|_| protocol_error("XPENDING"))?;
    let consumers = items(consumers)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|pair| {
            let pair = items(pair)?;
            Some((text(pair.first()?)?, int(pair.get(1)?)?))
        })
        .collect();
    Ok(PendingSummary {
        count: int(&count).unwrap_or(0),
        min_id: text(&min),
        max_id: text(&max),
        consumers,
    })
}

pub(crate) async fn pending(
    con: &mut impl Conn,
    key: &str,
    group: &str,
    query: &RangeQuery,
    consumer: Option<&str>,
) -> StoreResult<Vec<PendingEntry>> {
    let mut cmd = redis::cmd("XPENDING");
    cmd.arg(key)
        .arg(group)
        .arg(&query.start)
        .arg(&query.end)
        .arg(query.count.unwrap_or(100));
    if let Some(consumer) = consumer {
        cmd.arg(consumer);
    }
    let reply: Value = cmd.query_async(con).await.map_err(map_error)?;
    items(reply)
        .ok_or_else(|| protocol_error("XPENDING"))?
        .into_iter()
        .map(|row| {
            let row = items(row)?;
            Some(PendingEntry::new(
                text(row.first()?)?,
                text(row.get(1)?)?,
                Duration::from_millis(int(row.get(2)?)?),
                int(row.get(3)?)?,
            ))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| protocol_error("XPENDING"))
}

pub(crate) async fn autoclaim(
    con: &mut impl Conn,
    key: &str,
    read: &GroupRead,
    min_idle: Duration,
    start: &str,
) -> StoreResult<AutoClaim> {
    let reply: Value = redis::cmd("XAUTOCLAIM")
        .arg(key)
        .arg(&read.group)
        .arg(&read.consumer)
        .arg(ms_arg(min_idle))
        .arg(start)
        .arg("COUNT")
        .arg(read.count.unwrap_or(100))
        .query_async(con)
        .await
        .map_err(map_error)?;
    let mut parts = items(reply)
        .ok_or_else(|| protocol_error("XAUTOCLAIM"))?
        .into_iter();
    let next = parts
        .next()
        .as_ref()
        .and_then(text)
        .ok_or_else(|| protocol_error("XAUTOCLAIM"))?;
    let claimed = parts
        .next()
        .and_then(entries)
        .ok_or_else(|| protocol_error("XAUTOCLAIM"))?;
    let deleted = parts
        .next()
        .and_then(items)
        .unwrap_or_default()
        .iter()
        .filter_map(text)
        .collect();
    Ok(AutoClaim {
        next,
        entries: claimed,
        deleted,
    })
}
