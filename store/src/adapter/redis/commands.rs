//! The store's commands on any `redis` connection: one Redis server's
//! `ConnectionManager` or a cluster's `ClusterConnection`. Each function is
//! one command (or one script, or one transaction); the adapters choose the
//! connection and, for a cluster, split multi-key work by slot first.

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionLike;
use redis::{Arg, Cmd, Pipeline, Script, ToRedisArgs, Value};

use super::map_error;
use crate::adapter::{KeyTtl, MsetEntry, SetCondition, SetOptions, ceil_millis};
use crate::error::StoreResult;
use crate::key::RedisKey;

/// A connection the commands run on.
pub(crate) trait Conn: ConnectionLike + Send {}

impl<T: ConnectionLike + Send> Conn for T {}

/// A duration as the milliseconds Redis takes (`PX`, `PEXPIRE`, `BLOCK`,
/// `XAUTOCLAIM`'s idle time): rounded up, at most `i64::MAX`.
pub(crate) fn ms_arg(ttl: Duration) -> u64 {
    ceil_millis(ttl).min(i64::MAX.unsigned_abs())
}

/// A script's integer, returned as the string Redis stores: Lua numbers are
/// doubles, which lose integers past 2^53, so the scripts read the value back
/// with `GET` instead of returning `INCRBY`'s reply.
fn script_integer<T: std::str::FromStr>(reply: Option<String>) -> StoreResult<Option<T>> {
    reply
        .map(|s| {
            s.parse().map_err(|_| {
                crate::StoreError::new(
                    crate::ErrorCode::OperationFailed,
                    "a script answered something that is not an integer",
                )
            })
        })
        .transpose()
}

struct Scripts {
    incr_ttl_if_created: Script,
    claim_acquire: Script,
    compare_and_delete: Script,
    compare_and_expire: Script,
}

/// The Lua scripts, loaded once per process (`EVALSHA`, falling back to
/// `EVAL` on a server that does not have them yet).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    incr_ttl_if_created: Script::new(
        // GET before PEXPIRE: with a TTL of a millisecond, the key can be
        // gone by a GET after it (the differential test caught "the
        // increment script answered nothing" on Redis 7.0).
        r"local existed = redis.call('EXISTS', KEYS[1])
redis.call('INCRBY', KEYS[1], ARGV[1])
local value = redis.call('GET', KEYS[1])
if existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value",
    ),
    // The fencing token is max(previous + 1, the server's clock in µs): the
    // counter then grows even when it is lost (a purge of the tenant, a
    // restart without AOF), as long as the clock does not go back. The clock
    // in µs (about 1.7e15) is exact in Lua's doubles and below 2^53, so
    // JavaScript readers stay exact too; it is written with `%.0f` because
    // `tostring` would give `1.7e+15`. A counter someone pushed to 2^53 or
    // past is refused ("overflow" maps to STORE_COUNTER_OVERFLOW) before the
    // claim is taken. TIME after a write is fine: scripts replicate their
    // effects (the default since Redis 5, the only mode since 7).
    claim_acquire: Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local n = redis.call('INCR', KEYS[2])
if n >= 9007199254740992 then
  return redis.error_reply('ERR the fencing token would overflow 2^53')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if n < now then redis.call('SET', KEYS[2], string.format('%.0f', now), 'KEEPTTL') end
local fence = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence",
    ),
    compare_and_delete: Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0",
    ),
    compare_and_expire: Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0",
    ),
});

/// A key argument, whose length is known before it is written.
pub(crate) trait KeyArg: ToRedisArgs + Send {
    /// Its length in bytes.
    fn byte_len(&self) -> usize;
}

impl KeyArg for &str {
    fn byte_len(&self) -> usize {
        self.len()
    }
}

impl KeyArg for RedisKey<'_> {
    fn byte_len(&self) -> usize {
        self.len()
    }
}

/// The command `name` with room for `args` more arguments of `data` bytes in
/// all: built in one allocation of each buffer, where `redis::cmd` grows
/// them argument by argument.
pub(crate) fn command(name: &str, args: usize, data: usize) -> Cmd {
    let mut cmd = Cmd::with_capacity(args + 1, name.len() + data);
    cmd.arg(name);
    cmd
}

/// Room for an integer argument.
pub(crate) const INTEGER: usize = 20;

pub(crate) async fn get(con: &mut impl Conn, key: impl KeyArg) -> StoreResult<Option<Vec<u8>>> {
    command("GET", 1, key.byte_len())
        .arg(key)
        .query_async(con)
        .await
        .map_err(map_error)
}

/// `SET key value [PX ms] [NX]`.
pub(crate) fn set_command(key: impl KeyArg, value: &[u8], options: SetOptions) -> Cmd {
    let mut cmd = command("SET", 5, key.byte_len() + value.len() + 2 + INTEGER + 2);
    cmd.arg(key).arg(value);
    if let Some(ttl) = options.ttl {
        cmd.arg("PX").arg(ms_arg(ttl));
    }
    if options.condition == SetCondition::IfAbsent {
        cmd.arg("NX");
    }
    cmd
}

/// Runs a [`set_command`]: whether the value was written.
pub(crate) async fn set_reply(con: &mut impl Conn, cmd: &Cmd) -> StoreResult<bool> {
    let reply: Value = cmd.query_async(con).await.map_err(map_error)?;
    Ok(!matches!(reply, Value::Nil))
}

pub(crate) async fn set(
    con: &mut impl Conn,
    key: &str,
    value: &[u8],
    options: SetOptions,
) -> StoreResult<bool> {
    set_reply(con, &set_command(key, value, options)).await
}

/// `DEL` or `UNLINK` of keys (one slot, on a cluster).
pub(crate) async fn delete(
    con: &mut impl Conn,
    command: &str,
    keys: &[impl AsRef<[u8]>],
) -> StoreResult<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut cmd = redis::cmd(command);
    for key in keys {
        cmd.arg(key.as_ref());
    }
    cmd.query_async(con).await.map_err(map_error)
}

pub(crate) async fn exists(con: &mut impl Conn, key: impl KeyArg) -> StoreResult<bool> {
    command("EXISTS", 1, key.byte_len())
        .arg(key)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn pexpire(con: &mut impl Conn, key: &str, ttl: Duration) -> StoreResult<bool> {
    redis::cmd("PEXPIRE")
        .arg(key)
        .arg(ms_arg(ttl))
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn pttl(con: &mut impl Conn, key: &str) -> StoreResult<KeyTtl> {
    let ms: i64 = redis::cmd("PTTL")
        .arg(key)
        .query_async(con)
        .await
        .map_err(map_error)?;
    Ok(match ms {
        -2 => KeyTtl::Missing,
        ms if ms < 0 => KeyTtl::Persistent,
        ms => KeyTtl::Expires(Duration::from_millis(ms.unsigned_abs())),
    })
}

pub(crate) async fn persist(con: &mut impl Conn, key: &str) -> StoreResult<bool> {
    redis::cmd("PERSIST")
        .arg(key)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn incr_by(
    con: &mut impl Conn,
    key: impl KeyArg,
    delta: i64,
    ttl_if_created: Option<Duration>,
) -> StoreResult<i64> {
    match ttl_if_created {
        None => command("INCRBY", 2, key.byte_len() + INTEGER)
            .arg(key)
            .arg(delta)
            .query_async(con)
            .await
            .map_err(map_error),
        Some(ttl) => {
            // Boxed: the script's future is large, and would make every
            // increment's future (boxed by the store) as large.
            let reply: Option<String> = Box::pin(
                SCRIPTS
                    .incr_ttl_if_created
                    .key(key)
                    .arg(delta)
                    .arg(ms_arg(ttl))
                    .invoke_async(con),
            )
            .await
            .map_err(map_error)?;
            script_integer(reply)?.ok_or_else(|| {
                crate::StoreError::new(
                    crate::ErrorCode::OperationFailed,
                    "the increment script answered nothing",
                )
            })
        }
    }
}

/// `MGET` of `keys` (one slot, on a cluster), built at its final size.
pub(crate) fn mget_command<K: KeyArg>(keys: impl ExactSizeIterator<Item = K> + Clone) -> Cmd {
    let data = keys.clone().map(|k| k.byte_len()).sum();
    let mut cmd = command("MGET", keys.len(), data);
    for key in keys {
        cmd.arg(key);
    }
    cmd
}

/// Runs an [`mget_command`].
pub(crate) async fn mget_reply(
    con: &mut impl Conn,
    cmd: &Cmd,
) -> StoreResult<Vec<Option<Vec<u8>>>> {
    cmd.query_async(con).await.map_err(map_error)
}

/// `MGET` (one slot, on a cluster).
pub(crate) async fn mget(con: &mut impl Conn, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let cmd = mget_command(keys.iter().map(String::as_str));
    let values = mget_reply(con, &cmd).await?;
    Ok(values.into_iter().map(|v| v.map(Bytes::from)).collect())
}

/// An empty `MULTI`/`EXEC` for `len` entries; see [`mset_add`].
pub(crate) fn mset_pipeline(len: usize) -> Pipeline {
    let mut pipe = Pipeline::with_capacity(len);
    pipe.atomic();
    pipe
}

/// Adds `SET key value [PX ms]` to an [`mset_pipeline`].
pub(crate) fn mset_add(pipe: &mut Pipeline, key: impl KeyArg, value: &[u8], ttl: Option<Duration>) {
    let options = SetOptions::new(ttl, SetCondition::Always);
    pipe.add_command(set_command(key, value, options)).ignore();
}

/// Runs an [`mset_pipeline`].
pub(crate) async fn mset_run(con: &mut impl Conn, pipe: &Pipeline) -> StoreResult<()> {
    pipe.query_async::<()>(con).await.map_err(map_error)
}

impl KeyArg for &[u8] {
    fn byte_len(&self) -> usize {
        self.len()
    }
}

/// The commands of a batch set on one server: a single `MSET` while no
/// entry has a TTL (atomic, and one command for Redis to run instead of a
/// `MULTI`, N `SET`s and an `EXEC`), a `MULTI`/`EXEC` of `SET .. [PX ms]`
/// from the first entry that has one.
pub(crate) enum BatchWrite {
    /// `MSET k v k v ..`; `None` before the first entry.
    Mset(Option<Cmd>),
    /// `MULTI`, `SET`s, `EXEC`.
    Multi(Pipeline),
}

impl BatchWrite {
    pub(crate) fn new() -> Self {
        BatchWrite::Mset(None)
    }

    /// Adds one entry; `len` is the number of entries expected.
    pub(crate) fn add(
        &mut self,
        key: impl KeyArg,
        value: &[u8],
        ttl: Option<Duration>,
        len: usize,
    ) {
        if ttl.is_some()
            && let BatchWrite::Mset(mset) = self
        {
            // The first TTL: what was gathered moves into a MULTI.
            let mut pipe = mset_pipeline(len);
            if let Some(cmd) = mset.take() {
                let mut args = cmd.args_iter().skip(1);
                while let (Some(Arg::Simple(k)), Some(Arg::Simple(v))) = (args.next(), args.next())
                {
                    mset_add(&mut pipe, k, v, None);
                }
            }
            *self = BatchWrite::Multi(pipe);
        }
        match self {
            BatchWrite::Mset(mset) => {
                let cmd = mset.get_or_insert_with(|| {
                    command("MSET", 2 * len, len * (key.byte_len() + value.len() + 16))
                });
                cmd.arg(key).arg(value);
            }
            BatchWrite::Multi(pipe) => mset_add(pipe, key, value, ttl),
        }
    }

    /// Runs it; nothing for no entry.
    pub(crate) async fn run(&self, con: &mut impl Conn) -> StoreResult<()> {
        match self {
            BatchWrite::Mset(None) => Ok(()),
            BatchWrite::Mset(Some(cmd)) => cmd.query_async::<()>(con).await.map_err(map_error),
            BatchWrite::Multi(pipe) => mset_run(con, pipe).await,
        }
    }
}

/// Every entry in one `MULTI`/`EXEC` (one slot, on a cluster).
pub(crate) async fn mset(con: &mut impl Conn, entries: &[MsetEntry]) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut pipe = mset_pipeline(entries.len());
    for entry in entries {
        mset_add(&mut pipe, entry.key.as_str(), &entry.value, entry.ttl);
    }
    mset_run(con, &pipe).await
}

pub(crate) async fn claim_acquire(
    con: &mut impl Conn,
    key: &str,
    fence_key: &str,
    nonce: &str,
    ttl: Duration,
) -> StoreResult<Option<u64>> {
    let reply: Option<String> = SCRIPTS
        .claim_acquire
        .key(key)
        .key(fence_key)
        .arg(nonce)
        .arg(ms_arg(ttl))
        .invoke_async(con)
        .await
        .map_err(map_error)?;
    script_integer(reply)
}

pub(crate) async fn compare_and_delete(
    con: &mut impl Conn,
    key: &str,
    expected: &[u8],
) -> StoreResult<bool> {
    let n: i64 = SCRIPTS
        .compare_and_delete
        .key(key)
        .arg(expected)
        .invoke_async(con)
        .await
        .map_err(map_error)?;
    Ok(n > 0)
}

pub(crate) async fn compare_and_expire(
    con: &mut impl Conn,
    key: &str,
    expected: &[u8],
    ttl: Duration,
) -> StoreResult<bool> {
    let n: i64 = SCRIPTS
        .compare_and_expire
        .key(key)
        .arg(expected)
        .arg(ms_arg(ttl))
        .invoke_async(con)
        .await
        .map_err(map_error)?;
    Ok(n > 0)
}

/// `SCAN cursor MATCH pattern COUNT count`, for one server (a cluster
/// routes it to each primary in turn).
pub(crate) fn scan_command(cursor: &str, pattern: &str, count: usize) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count.max(1));
    cmd
}

/// `SCAN` on one server: the next cursor, Redis's own number, and the keys
/// as Redis holds them: bytes, which need not be UTF-8 when the store did not
/// write them.
pub(crate) async fn scan(
    con: &mut impl Conn,
    cursor: &str,
    pattern: &str,
    count: usize,
) -> StoreResult<(String, Vec<Vec<u8>>)> {
    scan_command(cursor, pattern, count)
        .query_async(con)
        .await
        .map_err(map_error)
}

pub(crate) async fn publish(
    con: &mut impl Conn,
    channel: &str,
    payload: &[u8],
) -> StoreResult<u64> {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(con)
        .await
        .map_err(map_error)
}
