//! # igniter-store
//!
//! A multi-tenant store for tokio services.
#![deny(missing_docs)]

pub mod adapter;
mod error;
pub mod key;
mod scope;

pub use adapter::memory::MemoryAdapter;
pub use adapter::StoreAdapter;
pub use error::{BoxError, ErrorCode, StoreError, StoreResult};
pub use igniter_store_macros::StoreScopes;
pub use scope::{NoScopes, ScopeDef, StoreScopes};

/// Items used by the code the derive macros generate. Not public API: it may
/// change in any release, which is why the macro crate is pinned to this
/// crate's exact version.
#[doc(hidden)]
pub mod __private {
    pub use crate::scope::{ScopeDef, StoreScopes};
}
