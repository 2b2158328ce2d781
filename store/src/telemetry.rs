//! Telemetry through `tracing`, and with the `metrics` feature through the
//! `metrics` facade (the `metrics` module, when that feature is on).
//!
//! Every operation emits three kinds of events, target `igniter_store`:
//!
//! | event | level | when |
//! |---|---|---|
//! | `igniter.store.<area>.<op>.started` | DEBUG | before the operation |
//! | `igniter.store.<area>.<op>.success` | DEBUG | after it succeeded |
//! | `igniter.store.<area>.<op>.error` | ERROR | after it failed |
//!
//! Fields of every event: `store.service`, `store.namespace` (the key
//! namespace: `kv`, `counter`, `claim`, `events`; `*` for `dev.purge`, which
//! spans them all), `store.scope_key` (the innermost scope key, never its
//! identifier; absent on the root handle), `store.scope_depth`. Success
//! events add the operation's counts:
//!
//! | operation | fields |
//! |---|---|
//! | `kv.get` | `kv.found` |
//! | `kv.set` | `kv.ttl` (ms, when set) |
//! | `kv.exists`, `kv.remove`, `kv.persist` | `kv.existed` |
//! | `kv.expire`, `kv.touch` | `kv.existed`, `kv.ttl` (ms) |
//! | `kv.ttl` | `kv.found`, `kv.ttl` (ms, when it expires) |
//! | `counter.increment`, `counter.decrement` | `counter.delta`, `counter.value`, `counter.ttl` (ms, when given) |
//! | `counter.get` | `counter.value` |
//! | `counter.expire` | `counter.ttl`, `kv.existed` |
//! | `counter.remove` | `kv.existed` |
//! | `claim.once`, `claim.acquire` | `claim.ttl`, `claim.acquired` |
//! | `claim.release` | `claim.released` |
//! | `claim.extend` | `claim.extended`, `claim.ttl` |
//! | `batch.get` | `batch.count`, `batch.found` |
//! | `batch.set` | `batch.count` |
//! | `dev.scan` | `dev.count` |
//! | `dev.purge` | `dev.count` |
//! | `events.publish` | `events.channel`, `events.wildcard`, `events.receivers` |
//! | `events.subscribe` | `events.channel` (the namespace when wildcard), `events.wildcard` |
//! | `events.unsubscribe` (success only, when a subscription is dropped) | `events.channel`, `events.wildcard` |
//! | `stream.append` | `stream.name` |
//! | `stream.range`, `stream.len`, `stream.trim` | `stream.name`, `stream.count` |
//! | `stream.group` (ensure) | `stream.name`, `stream.group`, `stream.created` |
//! | `stream.read`, `stream.reclaim`, `stream.ack`, `stream.remove_consumer` | `stream.name`, `stream.group`, `stream.consumer`, `stream.count` |
//! | `stream.pending` | `stream.name`, `stream.group`, `stream.count` |
//! | `stream.groups`, `stream.delete` | `stream.name`, `stream.count` |
//! | `stream.consumers` | `stream.name`, `stream.group`, `stream.count` |
//! | `stream.claim` | `stream.name`, `stream.group`, `stream.consumer`, `stream.count` |
//! | `stream.move` | `stream.name` (the source), `stream.target`, `stream.moved` |
//! | `stream.dead_letter` (worker) | `stream.name`, `stream.group` |
//!
//! Differences from the TypeScript package's telemetry, on purpose: TTL
//! fields (`kv.ttl`, `counter.ttl`, `claim.ttl`) are milliseconds, not
//! seconds, since TTLs are `Duration`s sent as `PX`; `claim.once` has its own
//! name where the TypeScript package reports it as `claim.acquire`, since
//! both forms exist here.
//!
//! Counter events are named by the sign of the change: a negative delta is a
//! `counter.decrement` (`increment_by(k, -1)` included). TTLs are reported as
//! the whole milliseconds the store applies (rounded up).
//!
//! Error events add `error.code` (the stable code), `error.message` (the
//! store's message, which never holds a key, a value or an identifier) and
//! `error.operation` (`kv.get`, ...). No field ever holds a key, a value, a
//! payload or a scope identifier.

/// Runs an operation with its telemetry, its deadline and its failure code.
///
/// `op!(core, "kv", "kv", "get", ErrorCode::GetFailed, async { ... }, |v| kv.found = v.is_some())`
///
/// `op!(now core, ..., body, ...)` runs a body that is not a future but a
/// result, computed at once (the memory adapter's commands): the same events,
/// no deadline to arm.
macro_rules! op {
    (unbounded $($rest:tt)+) => { $crate::telemetry::op!(@run run_unbounded, $($rest)+) };
    (now $core:expr, $ns:literal, $area:literal, $op:literal, $fail:expr, $body:expr $(, |$ok:ident| $($field:tt)+)?) => {{
        let core = $core;
        let ctx = core.telemetry();
        $crate::telemetry::op!(@started ctx, $ns, $area, $op);
        let result = ($body).map_err(|e| core.fail(e, $fail));
        $crate::telemetry::op!(@finished ctx, result, $ns, $area, $op $(, |$ok| $($field)+)?);
        result
    }};
    (@run $run:ident, $core:expr, $ns:literal, $area:literal, $op:literal, $fail:expr, $body:expr $(, |$ok:ident| $($field:tt)+)?) => {{
        let core = $core;
        let ctx = core.telemetry();
        $crate::telemetry::op!(@started ctx, $ns, $area, $op);
        let result = core
            .$run(::std::pin::pin!($body))
            .await
            .map_err(|e| core.fail(e, $fail));
        $crate::telemetry::op!(@finished ctx, result, $ns, $area, $op $(, |$ok| $($field)+)?);
        result
    }};
    (@started $ctx:ident, $ns:literal, $area:literal, $op:literal) => {
        ::tracing::event!(
            name: concat!("igniter.store.", $area, ".", $op, ".started"),
            target: "igniter_store",
            ::tracing::Level::DEBUG,
            store.service = $ctx.service,
            store.namespace = $ns,
            store.scope_key = $ctx.scope_key,
            store.scope_depth = $ctx.scope_depth,
        )
    };
    (@finished $ctx:ident, $result:ident, $ns:literal, $area:literal, $op:literal $(, |$ok:ident| $($field:tt)+)?) => {
        match &$result {
            Ok(_value) => {
                #[cfg(feature = "metrics")]
                $ctx.metrics.finished(concat!($area, ".", $op), "ok");
                $(let $ok = _value;)?
                ::tracing::event!(
                    name: concat!("igniter.store.", $area, ".", $op, ".success"),
                    target: "igniter_store",
                    ::tracing::Level::DEBUG,
                    store.service = $ctx.service,
                    store.namespace = $ns,
                    store.scope_key = $ctx.scope_key,
                    store.scope_depth = $ctx.scope_depth,
                    $($($field)+)?
                );
            }
            Err(e) => {
                #[cfg(feature = "metrics")]
                $ctx.metrics.finished(concat!($area, ".", $op), e.code().as_str());
                ::tracing::event!(
                    name: concat!("igniter.store.", $area, ".", $op, ".error"),
                    target: "igniter_store",
                    ::tracing::Level::ERROR,
                    store.service = $ctx.service,
                    store.namespace = $ns,
                    store.scope_key = $ctx.scope_key,
                    store.scope_depth = $ctx.scope_depth,
                    error.code = e.code().as_str(),
                    error.message = e.message(),
                    error.operation = concat!($area, ".", $op),
                );
            }
        }
    };
    ($($rest:tt)+) => { $crate::telemetry::op!(@run run, $($rest)+) };
}

pub(crate) use op;

/// The fields every event of one store handle carries (and, with the
/// `metrics` feature, when the operation started).
#[derive(Debug, Clone)]
pub(crate) struct Ctx<'a> {
    pub(crate) service: &'a str,
    pub(crate) scope_key: Option<&'static str>,
    pub(crate) scope_depth: usize,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: metrics::Started<'a>,
}

/// Metrics through the `metrics` facade (feature `metrics`). Every label is
/// a constant of the store or the service name: never a tenant identifier,
/// a key, a stream name given at run time or a payload.
///
/// | series | kind | labels |
/// |---|---|---|
/// | `igniter_store_operations_total` | counter | `service`, `operation` (`kv.get`, ...), `outcome` (`ok` or the error code) |
/// | `igniter_store_operation_duration_seconds` | histogram | `service`, `operation` |
/// | `igniter_store_subscriber_lagged_messages_total` | counter | `service` |
/// | `igniter_store_subscription_gaps_total` | counter | `service` |
/// | `igniter_store_stream_dead_lettered_total` | counter | `service` |
/// | `igniter_store_stream_pending_entries` | gauge, set by `Group::pending` | `service`, `stream` (a `Channel`'s declared name; `other` for a name given as a string) |
#[cfg(feature = "metrics")]
pub mod metrics {
    use std::time::Instant;

    /// Operations, by outcome.
    pub const OPERATIONS: &str = "igniter_store_operations_total";
    /// Latency of operations, in seconds.
    pub const DURATION: &str = "igniter_store_operation_duration_seconds";
    /// Messages a subscriber lost by falling behind.
    pub const LAGGED: &str = "igniter_store_subscriber_lagged_messages_total";
    /// Connection drops under subscriptions (messages published meanwhile are lost).
    pub const GAPS: &str = "igniter_store_subscription_gaps_total";
    /// Stream entries a worker moved to a dead-letter stream.
    pub const DEAD_LETTERED: &str = "igniter_store_stream_dead_lettered_total";
    /// Pending entries of a consumer group, as last read by `pending`.
    pub const PENDING: &str = "igniter_store_stream_pending_entries";

    /// When an operation started, and for which service.
    #[derive(Debug, Clone)]
    pub(crate) struct Started<'a> {
        service: &'a ::metrics::SharedString,
        at: Instant,
    }

    impl<'a> Started<'a> {
        pub(crate) fn now(service: &'a ::metrics::SharedString) -> Self {
            Started {
                service,
                at: Instant::now(),
            }
        }

        /// Counts the operation and records its latency.
        pub(crate) fn finished(&self, operation: &'static str, outcome: &'static str) {
            let elapsed = self.at.elapsed().as_secs_f64();
            ::metrics::counter!(OPERATIONS, "service" => self.service.clone(), "operation" => operation, "outcome" => outcome)
                .increment(1);
            ::metrics::histogram!(DURATION, "service" => self.service.clone(), "operation" => operation)
                .record(elapsed);
        }
    }

    /// Describes every series to the installed recorder (its `# HELP`
    /// lines); once per process, when the first store is built.
    pub(crate) fn describe() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            ::metrics::describe_counter!(
                OPERATIONS,
                "Store operations, by outcome (ok or the error code)."
            );
            ::metrics::describe_histogram!(
                DURATION,
                ::metrics::Unit::Seconds,
                "Latency of store operations."
            );
            ::metrics::describe_counter!(LAGGED, "Messages subscribers lost by falling behind.");
            ::metrics::describe_counter!(
                GAPS,
                "Connection drops under subscriptions; messages published meanwhile are lost."
            );
            ::metrics::describe_counter!(
                DEAD_LETTERED,
                "Stream entries workers moved to a dead-letter stream."
            );
            ::metrics::describe_gauge!(
                PENDING,
                "Pending entries of a consumer group, as last read."
            );
        });
    }

    /// Sets the pending-entries gauge of a stream: its declared name
    /// (never one made at run time, which may hold an identifier), or
    /// `other`.
    pub(crate) fn pending(
        service: &::metrics::SharedString,
        stream: Option<&'static str>,
        count: u64,
    ) {
        ::metrics::gauge!(PENDING, "service" => service.clone(), "stream" => stream.unwrap_or("other"))
            .set(count as f64);
    }

    /// Adds `n` to the counter `name` of `service`.
    pub(crate) fn count(name: &'static str, service: &::metrics::SharedString, n: u64) {
        ::metrics::counter!(name, "service" => service.clone()).increment(n);
    }
}

/// A TTL as the milliseconds the store applies (rounded up), for a field.
pub(crate) fn ms(ttl: Option<std::time::Duration>) -> Option<u64> {
    ttl.map(crate::adapter::ceil_millis)
}
