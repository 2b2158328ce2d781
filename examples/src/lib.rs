//! Runnable examples of `igniter-store`; see `src/bin`.
//!
//! | binary | what it shows |
//! |---|---|
//! | `quickstart` | every namespace once: kv, counters, claims, batches, scans, typed events, purge |
//! | `multi_tenant` | two organizations that cannot see each other, then one offboarded with `purge` |
//! | `axum_service` | an HTTP service: per-tenant rate limiter, idempotency keys, typed events as server-sent events ([`axum_service`]) |
//! | `job_worker` | a job queue on a stream with a consumer group and a dead-letter stream |
//! | `telemetry` | every operation's `tracing` events, as JSON lines |
//!
//! Each runs on the in-memory adapter, or on Redis when
//! `IGNITER_STORE_REDIS_URL` is set.

pub mod axum_service;
