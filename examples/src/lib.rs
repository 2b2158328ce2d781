//! Runnable examples of `igniter-store`; see `src/bin`.
//!
//! | binary | what it shows |
//! |---|---|
//! | `quickstart` | every namespace once: kv, counters, claims, batches, scans, typed events, purge |
//! | `multi_tenant` | two organizations that cannot see each other, then one offboarded with `purge` |
//! | `axum_service` | an HTTP service: per-tenant rate limiter, idempotency keys, typed events as server-sent events ([`axum_service`]) |
//! | `job_worker` | a job queue on a stream with a consumer group and a dead-letter stream |
//! | `board` | a job queue per tenant with `igniter-store-board` mounted per tenant ([`board`]) |
//! | `telemetry` | every operation's `tracing` events, as JSON lines |
//! | `metrics` | the `metrics` feature, served as Prometheus text at `/metrics` |
//!
//! Each runs on the in-memory adapter, or on Redis when
//! `IGNITER_STORE_REDIS_URL` is set.

pub mod axum_service;
pub mod board;

/// Every Rust block of the workspace's README, compiled (and, unless marked
/// `no_run` or `ignore`, run) as a doc test of this crate, so the README
/// cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
