//! Derive macros of `igniter-store`. Use them through `igniter_store`, never
//! directly: the generated code names items of the runtime crate's private,
//! versioned path.
#![deny(missing_docs)]

use proc_macro::TokenStream;

/// Derives `igniter_store::StoreScopes` for an enum of unit variants.
#[proc_macro_derive(StoreScopes, attributes(scope))]
pub fn derive_store_scopes(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
