//! The conformance suite: every behaviour of the store, written once against
//! [`Harness`], and instantiated for each adapter with [`conformance_suite!`]
//! in one test binary, `store/tests/conformance_suite.rs`. Other test
//! binaries include this module for its helpers and its event and scope types.
//!
//! Each case builds its stores on a fresh service name, so cases sharing one
//! backend (one Redis server per test binary) never see each other's keys.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use igniter_store::StoreScopes;
use igniter_store::adapter::Backend;

pub mod cases;
pub mod events;
pub mod isolation;
pub mod stream_admin;
pub mod streams;

/// Every case, for [`conformance_suite!`].
#[allow(unused_imports)]
pub mod all {
    pub use super::cases::*;
    pub use super::events::*;
    pub use super::isolation::*;
    pub use super::stream_admin::*;
    pub use super::streams::*;
}

/// What a suite needs from a backend.
pub trait Harness: Send + Sync + 'static {
    /// An adapter on the backend; may be a new one per call. Async because
    /// a network adapter connects on the runtime of the case that uses it.
    fn adapter(&self) -> futures::future::BoxFuture<'static, Backend>;

    /// Whether `publish` counts every subscription of the process (one
    /// server), or only those on the node that took the publish (a cluster).
    fn exact_publish_counts(&self) -> bool {
        true
    }

    /// Whether `Streams::move_entry` moves an entry between these two full
    /// stream keys, or refuses with `STORE_STREAM_CROSS_SLOT` (a cluster,
    /// for keys in two slots).
    fn moves_between(&self, from: &str, to: &str) -> bool {
        let _ = (from, to);
        true
    }

    /// An adapter whose local subscribers may fall only `capacity` messages
    /// behind, for the lag cases.
    fn adapter_with_capacity(
        &self,
        capacity: usize,
    ) -> futures::future::BoxFuture<'static, Backend>;
}

/// The scope set of the suite.
#[derive(StoreScopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
    Team,
}

/// A service name no other case uses.
pub fn unique_service() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "svc{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The store type of the suite: the root of a service.
pub type TestStore = igniter_store::Store<Tenant, Actor>;

/// An organization's handle on the typed path.
pub type Org = igniter_store::Store<tenant::Organization, Actor>;

/// A handle whose chain was built from scope values, checked at run time.
pub type DynStore = igniter_store::Store<igniter_store::scope::Dynamic<Tenant>, Actor>;

pub async fn store(h: &dyn Harness) -> TestStore {
    igniter_store::Store::builder()
        .shared_adapter(h.adapter().await)
        .service(unique_service())
        .scopes::<Tenant>()
        .actors::<Actor>()
        .events(user::REGISTRY)
        .events(Billing::REGISTRY)
        .build()
        .expect("store builds")
}

pub const SHORT: Duration = Duration::from_millis(50);
pub const LONG: Duration = Duration::from_secs(60);

/// The suite, instantiated once per backend in one test binary
/// (`store/tests/conformance_suite.rs`), each instance a module of
/// `#[tokio::test]`s, one per case:
///
/// ```ignore
/// conformance_suite! {
///     memory => memory_harness,
///     redis => redis_harness,
/// }
/// ```
///
/// `$make()` returns `Some(&'static dyn Harness)`, or `None` to skip the
/// instance (Redis with `IGNITER_STORE_SKIP_REDIS_TESTS=1`; the binary must
/// have `mod support;`). Each instance also gets a test `runs_every_case`:
/// the cases it instantiated must be [`CASES`], name for name (see
/// [`check_instance`]).
///
/// The list of cases is written once, in the `@list` arm: it makes both
/// [`CASES`] and every instance, so a case added to it runs everywhere.
#[macro_export]
macro_rules! conformance_suite {
    ($($instance:ident => $make:ident),+ $(,)?) => {
        $( $crate::conformance_suite!(@list instance $instance, $make); )+
    };
    // The one list of cases: passed on to `@with`, after what asked for it.
    (@list $($what:tt)*) => {
        $crate::conformance_suite!(@with [$($what)*];
            kv_round_trip, kv_missing_and_remove, kv_ttl_expire_persist, kv_set_clears_ttl,
            kv_raw_string_value, kv_decode_error, expiry_everywhere,
            counter_arithmetic, counter_not_integer, counter_overflow, counter_rate_limiter,
            claim_once_contention, claim_acquire_contention, claim_release_by_non_owner,
            claim_fencing_increases, claim_fencing_survives_purge,
            claim_fencing_counter_edges, claim_extend, claim_expiry_frees,
            batch_mixed_ttls, batch_empty, batch_invalid_entry_writes_nothing,
            scan_pages_each_key_once, scan_is_relative_and_escaped, scan_all_stream,
            purge_leaves_sibling, scope_required_before_io, scope_errors, ttl_errors, key_errors,
            keys_match_typescript_layout, namespaces_are_separate,
            events_scoped_delivery, events_envelope_matches_typescript, events_fixture_decodes,
            events_raw_payload_is_wrapped, events_fanout_shares_one_subscription,
            events_subscribe_all_macro, events_subscribe_all_derive, events_malformed_then_good,
            events_unknown_channel_in_namespace, events_actor_in_envelope, events_need_required_scope,
            hostile_identifiers_reach_no_other_tenant, hostile_identifiers_receive_no_other_tenants_events,
            streams_append_range_len_trim, streams_typed_by_channel, streams_group_read_ack_pending,
            streams_consumers_split_and_reclaim, streams_undecodable_entries_are_reported, streams_errors,
            streams_blocking_read_wakes_on_append, streams_worker_dead_letters_poison, streams_at_least_once,
            streams_worker_recovers_when_its_group_is_gone, streams_group_moves_into_a_task,
            streams_groups_describe_each_group, streams_consumers_pending_and_idle,
            streams_delete_removes_entries, streams_move_entry_moves_once,
            streams_claim_takes_named_pending_entries, streams_admin_stays_in_its_tenant,
            events_lagging_subscriber_is_told_what_it_lost, events_publish_counts_backend_subscriptions,
            events_envelope_with_bad_data_is_an_error);
    };
    (@with [names]; $($case:ident),* $(,)?) => {
        /// Every case of the suite, in the order of the list.
        pub const CASES: &[&str] = &[$(stringify!($case)),*];
    };
    (@with [instance $instance:ident, $make:ident]; $($case:ident),* $(,)?) => {
        $crate::conformance_suite!(@instance $instance, $make; $($case),*);
    };
    // One instance, over the cases given.
    (@instance $instance:ident, $make:ident; $($case:ident),* $(,)?) => {
        mod $instance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let harness: Option<&'static dyn $crate::conformance::Harness> = super::$make();
                    if let Some(harness) = harness {
                        $crate::conformance::all::$case(harness).await;
                    }
                }
            )*

            /// The test functions of this instance, by name.
            const INSTANTIATED: &[(&str, fn())] = &[$((stringify!($case), $case as fn())),*];

            #[test]
            fn runs_every_case() {
                let names: Vec<&str> = INSTANTIATED.iter().map(|(name, _)| *name).collect();
                let harness: Option<&'static dyn $crate::conformance::Harness> = super::$make();
                $crate::conformance::check_instance(
                    stringify!($instance),
                    &names,
                    harness.is_some(),
                    $crate::support::skip_redis(),
                );
            }
        }
    };
}

conformance_suite!(@list names);

/// What `runs_every_case` holds of one instance: its test functions are the
/// cases of [`CASES`], each once, in the list's order (so the same count on
/// every instance), and its harness exists unless the Redis tests are
/// skipped (an instance whose harness is missing would pass every case
/// without running it).
pub fn check_instance(instance: &str, instantiated: &[&str], has_harness: bool, skip: bool) {
    let missing: Vec<&str> = CASES
        .iter()
        .copied()
        .filter(|case| !instantiated.contains(case))
        .collect();
    let extra: Vec<&str> = instantiated
        .iter()
        .copied()
        .filter(|case| !CASES.contains(case))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the {instance} instance of the conformance suite does not run the suite's cases: \
         missing {missing:?}, not in the suite {extra:?}"
    );
    assert_eq!(
        instantiated.len(),
        CASES.len(),
        "the {instance} instance has {} cases, the suite {}",
        instantiated.len(),
        CASES.len()
    );
    assert_eq!(instantiated, CASES, "the {instance} instance's cases");
    assert!(
        has_harness || skip,
        "the {instance} instance has no harness: its cases would pass without running"
    );
    println!(
        "conformance suite on {instance}: {} cases{}",
        instantiated.len(),
        if has_harness { "" } else { " (skipped)" }
    );
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserCreated {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmailSent {
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Charge {
    pub cents: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Refund {
    pub cents: u64,
    pub reason: String,
}

igniter_store::events! {
    /// Users of the suite.
    pub user {
        /// A user signed up.
        created(UserCreated),
        group notifications {
            email(EmailSent),
        }
        /// A payload type that accepts almost anything.
        lenient(Lenient),
    }
}

/// Every field optional.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lenient {
    #[serde(default)]
    pub id: Option<String>,
}

/// Billing events, declared with the derive.
#[derive(igniter_store::StoreEvents, Debug)]
#[store(namespace = "billing")]
pub enum Billing {
    Charged(Charge),
    #[store(group = "refunds", rename = "issued")]
    Refund(Refund),
}

/// Who acts.
#[derive(igniter_store::StoreActors, Clone, Copy, Debug)]
pub enum Actor {
    User,
    #[actor(key = "apiKey")]
    ApiKey,
}
