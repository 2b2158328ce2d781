//! Derive macros of [`igniter-store`](https://docs.rs/igniter-store).
//!
//! Use them through `igniter_store` (`use igniter_store::StoreScopes;`), never
//! from this crate directly: the generated code names items of the runtime's
//! private path, and this crate is pinned to the runtime's exact version so
//! the two always match.
//!
//! Every misuse is a compile error pointing at the offending tokens, and all
//! of them are reported at once. Keys are checked with the same rules
//! (`igniter-store-names`) the runtime applies when a store is built.
#![deny(missing_docs)]

mod ast;
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
/// # Variant options
///
/// `#[scope(..)]` goes on a variant, never on the enum:
///
/// - `key = "..."` sets the key segment; without it the key is the variant's
///   name in snake_case (`ApiKey` → `api_key`).
/// - `required`: every operation on the store needs this scope in its chain.
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
