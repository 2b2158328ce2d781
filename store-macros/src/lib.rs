//! Macros of [`igniter-store`](https://docs.rs/igniter-store):
//! `derive(StoreScopes)`, `derive(StoreActors)`, `derive(StoreEvents)` and
//! `events!`.
//!
//! Use them through `igniter_store` (`use igniter_store::StoreScopes;`), never
//! from this crate directly: the generated code names items of the runtime's
//! private path, and this crate is pinned to the runtime's exact version so
//! the two always match.
//!
//! Every misuse is a compile error pointing at the offending tokens, and all
//! of them are reported at once. Keys and names are checked with the same
//! rules (`igniter-store-names`) the runtime applies when a store is built.
//!
//! `events!` and `derive(StoreEvents)` are two ways to write one thing, an
//! event namespace: both parse into one model, pass one validation and share
//! one code generator, so the same declaration means the same channels.
#![deny(missing_docs)]

mod ast;
mod case;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

use crate::ast::KeyedKind;

/// Derives `igniter_store::StoreScopes` for an enum of unit variants, one per
/// tenant scope.
///
/// ```
/// use igniter_store::StoreScopes;
///
/// #[derive(StoreScopes, Clone, Copy, Debug)]
/// enum Tenant {
///     #[scope(required)]
///     Organization,          // key "organization": the variant name in snake_case
///     #[scope(key = "ws")]
///     Workspace,             // key "ws"
///     #[scope(key = "team", required)]
///     Team,
///     ApiKey,                // key "api_key"
/// }
///
/// assert_eq!(Tenant::SCOPES.len(), 4);
/// assert_eq!(Tenant::ApiKey.def().key(), "api_key");
/// assert!(Tenant::Team.def().required());
/// ```
///
/// # The hierarchy and the typed path
///
/// The declared order is the tenant hierarchy: a chain lists scopes in that
/// order, each at most once, skipping optional scopes only. Besides the
/// trait, the derive writes:
///
/// - a module named after the enum in snake case (`tenant` for `Tenant`;
///   `<name>_scopes` where that is a keyword; or the name given by
///   `#[scope(module = "name")]` on the enum, where that one is taken), with
///   the enum's visibility,
///   holding one unit struct per variant (`tenant::Organization`,
///   `tenant::Workspace`, ...): the markers `Store::scope` takes on the typed
///   path, and `From<marker>` for the enum;
/// - `ScopePosition` for the enum (the root) and each marker: where a handle
///   stands, and the first required scope it lacks;
/// - `NextScope` for each marker after each position it may follow (an
///   earlier one with no required scope in between), and for the enum's
///   values after every position (checked at run time).
///
/// So on the typed path the compiler refuses a scope out of order, repeated,
/// skipping a required one or of another enum, and a data operation on a
/// handle lacking a required scope, with a message naming it:
///
/// ```
/// # use igniter_store::{MemoryAdapter, Store, StoreScopes};
/// # #[derive(StoreScopes, Clone, Copy, Debug)]
/// # enum Tenant { #[scope(required)] Organization, #[scope(key = "ws")] Workspace, #[scope(key = "team", required)] Team, ApiKey }
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build()?;
/// let team = store.scope(tenant::Organization, "acme")?.scope(tenant::Team, 3)?;  // skips the optional workspace
/// assert_eq!(team.kv().key("k")?, "igniter:store:api:organization:acme:team:3:kv:k");
/// # Ok::<(), igniter_store::StoreError>(())
/// ```
///
/// ```compile_fail,E0277
/// # use igniter_store::{MemoryAdapter, Store, StoreScopes};
/// # #[derive(StoreScopes, Clone, Copy, Debug)]
/// # enum Tenant { #[scope(required)] Organization, #[scope(key = "ws")] Workspace, #[scope(key = "team", required)] Team, ApiKey }
/// # let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build().unwrap();
/// let ws = store.scope(tenant::Organization, "acme").unwrap().scope(tenant::Workspace, 7).unwrap();
/// ws.kv();  // error: this handle lacks the required scope `Team`
/// ```
///
/// # Variant options
///
/// `#[scope(..)]` goes on a variant; on the enum, only `#[scope(module =
/// "name")]` (the typed path's module), for when the default name is taken:
///
/// ```
/// # use igniter_store::StoreScopes;
/// mod tenant {}  // your own module
///
/// #[derive(StoreScopes, Clone, Copy, Debug)]
/// #[scope(module = "tenant_path")]
/// enum Tenant { Organization }
///
/// let marker = tenant_path::Organization;
/// assert!(matches!(Tenant::from(marker), Tenant::Organization));
/// ```
///
/// On a variant:
///
/// - `key = "..."` sets the key segment; without it the key is the variant's
///   name in snake_case (`ApiKey` → `api_key`).
/// - `required`: every data operation needs this scope in its chain, and no
///   chain may skip it.
///
/// # Compile-time checks
///
/// - Only an enum of unit variants without generics, with 1 to 64 variants.
/// - Every key follows the scope-key rules of `igniter-store-names`: not empty,
///   none of `:` `.` `*` `?` `[` `]` `\` `{` `}` or white space, not reserved
///   (`igniter`, `ign`, anything starting with `__`), not a namespace word
///   (`kv`, `counter`, `claim`, `events`, `streams`, `fence`).
/// - No two variants share a key, whether written or derived: with
///   `#[scope(key = "workspace")] Ws` and `Workspace`, the second is refused
///   with "duplicate scope key `workspace`" and a pointer at the first.
#[proc_macro_derive(StoreScopes, attributes(scope))]
pub fn derive_store_scopes(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_keyed_enum(&input, KeyedKind::Scope).into()
}

/// Derives `igniter_store::StoreActors` for an enum of unit variants, one per
/// kind of actor (who performs an operation). Actors never change keys: the
/// store carries them in the envelopes of the events it publishes, as
/// `"actor": {"key": "user", "identifier": "u_1"}`.
///
/// ```
/// use igniter_store::StoreActors;
///
/// #[derive(StoreActors, Clone, Copy, Debug)]
/// enum Actor {
///     User,                  // key "user": the variant name in snake_case
///     #[actor(key = "svc")]
///     Service,               // key "svc"
///     ApiClient,             // key "api_client"
/// }
///
/// assert_eq!(Actor::ACTORS.len(), 3);
/// assert_eq!(Actor::Service.def().key(), "svc");
/// assert_eq!(Actor::ApiClient.def().key(), "api_client");
/// ```
///
/// # Variant options
///
/// `#[actor(key = "...")]` goes on a variant and sets its key; without it the
/// key is the variant's name in snake_case. It is the only option.
///
/// # Compile-time checks
///
/// The same as `StoreScopes`, with which actor keys share their rules: only
/// an enum of unit variants without generics, with at least one variant;
/// keys follow the actor-key rules of `igniter-store-names` (those of scope
/// keys: not empty, none of `:` `.` `*` `?` `[` `]` `\` `{` `}` or white
/// space, not reserved, not a namespace word); no two variants share a key.
#[proc_macro_derive(StoreActors, attributes(actor))]
pub fn derive_store_actors(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_keyed_enum(&input, KeyedKind::Actor).into()
}

/// Declares event namespaces: for each, a module of typed channels, an enum
/// of all its events and its registry.
///
/// ```
/// use igniter_store::{StoreEvents, events};
///
/// events! {
///     /// The lifecycle of users.
///     pub user {
///         /// A user signed up; the payload is the new user's id.
///         created(u64),
///         passwordReset(String),
///         group notifications {
///             email(Vec<String>),
///             group digest { weekly(Vec<String>) }
///         }
///     }
///     pub(crate) billing { charged(u64) }
/// }
///
/// fn main() {
///     // Channels: a name bound to the type of its payload.
///     assert_eq!(user::CREATED.name(), "user:created");
///     assert_eq!(user::PASSWORD_RESET.name(), "user:passwordReset");
///     assert_eq!(user::notifications::digest::WEEKLY.name(), "user:notifications:digest:weekly");
///
///     // The registry the store's builder takes: `.events(user::REGISTRY)`.
///     assert_eq!(user::REGISTRY.namespace(), "user");
///     assert_eq!(user::REGISTRY.channels().len(), 4);
///
///     // Every event of the namespace: what `subscribe_all::<user::Event>()` yields.
///     let event = user::Event::NotificationsDigestWeekly(vec![]);
///     assert_eq!(event.event_name(), "user:notifications:digest:weekly");
///     assert_eq!(billing::Event::Charged(5).event_name(), "billing:charged");
/// }
/// ```
///
/// # Syntax
///
/// Any number of namespaces, each `vis name { items }` with optional
/// attributes (doc comments, `#[cfg(..)]`) that go to its module. Items are
/// separated by commas:
///
/// - an event, `name(PayloadType)`: any Rust type that implements
///   `serde::de::DeserializeOwned` (and `Serialize` to be published), `()`
///   for an event without data;
/// - a group, `group name { items }`, nested to any depth.
///
/// Names are Rust identifiers, used as written: `passwordReset` is the event
/// `user:passwordReset`, `r#type` the event `type`.
///
/// # What a namespace generates
///
/// For `pub user { created(UserCreated), group notifications { email(EmailSent) } }`:
///
/// - `pub mod user`, and in it `pub mod notifications` for the group;
/// - a constant per event, its name in SCREAMING_SNAKE_CASE, in the module
///   of its group: `user::CREATED: Channel<UserCreated>` named
///   `"user:created"`, `user::notifications::EMAIL: Channel<EmailSent>`.
///   The event's attributes (doc comments, `#[deprecated]`, `#[cfg(..)]`)
///   are carried to its constant; its `#[cfg(..)]`s and those of its groups,
///   to everything generated for it;
/// - `user::Event`, an enum with one variant per event, named in PascalCase
///   after its groups and its name (`Created(UserCreated)`,
///   `NotificationsEmail(EmailSent)`), implementing `StoreEvents`. It derives
///   nothing: payload types need not be `Debug` or `Clone`;
/// - `user::REGISTRY`, every channel of the namespace.
///
/// Payload types are written as at the call site. Each generated module
/// glob-imports its parent (`use super::*`), and the paths that would
/// resolve differently inside it are adjusted: `self::` and `super::` paths,
/// and paths starting with a name the generated items shadow (a type
/// `Event`, a module named like a group). Call `events!` at module level,
/// not inside a function, whose local items a module cannot see.
///
/// The namespace's visibility (`pub user`) is that of its modules,
/// constants and `Event` enum; payload types may be less visible (private
/// structs of a binary crate, say) without a `private_interfaces` warning:
/// the channels are then as usable as their payloads, which is all anyone
/// can do with them. A `ui-tests` pass case builds this with
/// `#![deny(warnings)]`.
///
/// # Compile-time checks
///
/// Every namespace, group and event name follows the rules of
/// `igniter-store-names`: not empty, none of `:` `.` `*` `?` `[` `]` `\`
/// `{` `}` or white space, not reserved (`igniter`, `ign`, or starting with
/// `__`; `ignore` and `ignition` are fine). No two events, no two groups, no
/// event and group share a name at the same level, no two namespaces share a
/// name, no namespace or group is empty, and no two events make the same
/// constant (`passwordReset`, `password_reset`) or variant. Each mistake is
/// reported on its own tokens, duplicates with "first defined here".
#[proc_macro]
pub fn events(input: TokenStream) -> TokenStream {
    expand::events_macro(input.into()).into()
}

/// Derives `igniter_store::StoreEvents` for an enum whose variants each carry
/// one payload: the enum is a namespace of events, one per variant. The enum
/// needs no serde derive; its payloads implement
/// `serde::de::DeserializeOwned`.
///
/// ```
/// use igniter_store::StoreEvents;
///
/// #[derive(StoreEvents, Debug)]
/// #[store(namespace = "billing")]
/// enum Billing {
///     Charged(u64),                                 // "billing:charged"
///     #[store(group = "refunds", rename = "issued")]
///     Refund(u64),                                  // "billing:refunds:issued"
///     PaymentFailed(String),                        // "billing:payment_failed"
/// }
///
/// // A channel per variant, named after it, and the registry.
/// assert_eq!(Billing::CHARGED.name(), "billing:charged");
/// assert_eq!(Billing::REFUND.name(), "billing:refunds:issued");
/// assert_eq!(Billing::REGISTRY.channels().len(), 3);
/// assert_eq!(Billing::Refund(10).event_name(), "billing:refunds:issued");
/// ```
///
/// # Options
///
/// On the enum, `#[store(..)]` takes:
///
/// - `namespace = "..."` (required): the namespace of the events;
/// - `rename_all = "..."`: how events are named after their variants, one of
///   `snake_case` (the default: `PaymentFailed` → `payment_failed`),
///   `camelCase` (`paymentFailed`), `PascalCase` (`PaymentFailed`),
///   `SCREAMING_SNAKE_CASE` (`PAYMENT_FAILED`), `kebab-case`
///   (`payment-failed`) and `lowercase` (`paymentfailed`). Words are split
///   as for snake_case, so `HTTPError` is `httpError` in camelCase.
///
/// On a variant:
///
/// - `rename = "..."`: the event's name, instead of the derived one;
/// - `group = "..."`: the group the event sits in, one level deep. For
///   deeper groups, declare the namespace with `events!`.
///
/// # What it generates
///
/// On the enum, a constant per variant named after the variant in
/// SCREAMING_SNAKE_CASE (`Billing::CHARGED: Channel<u64>`), carrying the
/// variant's doc comments and `#[deprecated]`, and `Billing::REGISTRY`; and
/// the `StoreEvents` impl, which decodes each event into its variant.
///
/// # Compile-time checks
///
/// The names follow the same rules as in `events!`, with the same
/// uniqueness rules. Refused: a struct or union, generics, a variant with no
/// payload, several or named fields, an unknown or repeated option, a
/// missing `namespace`, an unknown `rename_all` rule, and a variant whose
/// constant would collide with another (or with `REGISTRY`).
#[proc_macro_derive(StoreEvents, attributes(store))]
pub fn derive_store_events(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_store_events(&input).into()
}
