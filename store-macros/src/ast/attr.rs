//! Helpers for the helper attributes (`#[scope(..)]`, `#[actor(..)]`,
//! `#[store(..)]`), in the manner of serde's `parse_nested_meta` dispatch.

use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Path, Token, token};

/// Parses the `= "..."` of an option; `example` is the whole attribute as
/// it should be written, for the message.
pub(crate) fn string_value(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    let msg = || format!("expected a string literal: `{example}`");
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(msg()));
    }
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.suffix().is_empty() => Ok(lit),
        other => Err(syn::Error::new(other.span(), msg())),
    }
}

/// Consumes the value of an unknown option (`= expr` or `(..)`), so the
/// options after it are still read and checked.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

/// `a::b` as written, without the spaces of `to_string`.
pub(crate) fn path_to_string(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}
