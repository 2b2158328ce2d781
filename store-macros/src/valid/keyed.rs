//! The rules of a keyed enum (`StoreScopes`, `StoreActors`).

use std::collections::HashMap;

use syn::Fields;

use crate::ast::{Key, KeySource, KeyedEnum};
use crate::ctxt::Ctxt;

/// Checks a keyed enum: shape, names and uniqueness of its keys.
pub(crate) fn keyed_enum(cx: &Ctxt, input: &KeyedEnum<'_>) {
    let kind = input.kind;
    let derive = kind.derive_name();
    let attr = kind.attr_name();

    for own in &input.own_attrs {
        let enum_option = if kind.has_required() {
            " (the enum takes only `#[scope(module = \"name\")]`, the typed path's module)"
        } else {
            ""
        };
        cx.error_spanned_by(
            own,
            format_args!(
                "`#[{attr}(..)]` belongs on a variant, not on the enum: put it above the variant it configures{enum_option}"
            ),
        );
    }
    if let Some(module) = &input.module
        && syn::parse_str::<syn::Ident>(&module.value()).is_err()
    {
        cx.error_spanned_by(
            module,
            "the module of the typed path must be a Rust identifier, such as `tenant_scopes`",
        );
    }

    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            input.generics,
            format_args!("a {derive} enum cannot have generic parameters"),
        );
    }
    if let Some(where_clause) = &input.generics.where_clause {
        cx.error_spanned_by(
            where_clause,
            format_args!("a {derive} enum cannot have a where clause"),
        );
    }

    if input.variants.is_empty() {
        cx.error_spanned_by(
            input.ident,
            format_args!(
                "declare at least one {noun}: {derive} needs an enum with at least one unit variant",
                noun = kind.noun()
            ),
        );
    }
    if let Some(max) = kind.max_variants()
        && let Some(extra) = input.variants.get(max)
    {
        cx.error_spanned_by(
            extra.ident,
            format_args!(
                "a {derive} enum declares at most {max} {noun}s; `{}` is number {}",
                extra.ident,
                max + 1,
                noun = kind.noun()
            ),
        );
    }

    let mut first_by_key: HashMap<&str, &Key> = HashMap::new();
    for variant in &input.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                variant.fields,
                format_args!(
                    "{derive} can only be derived for an enum of unit variants; remove these fields"
                ),
            );
        }

        let key = &variant.key;
        if let Err(err) = igniter_store_names::check(kind.name_kind(), &key.value) {
            let msg = match &key.source {
                KeySource::Literal(_) => err.to_string(),
                KeySource::Derived(ident) => format!(
                    "{err}; `{}` is derived from the variant name `{ident}`, set another with `#[{attr}(key = \"...\")]`",
                    key.value
                ),
            };
            cx.syn_error(syn::Error::new(key.span(), msg));
            // One error per key: a refused key is not also reported as a
            // duplicate.
            continue;
        }

        match first_by_key.get(key.value.as_str()) {
            None => {
                first_by_key.insert(&key.value, key);
            }
            Some(first) => duplicate_key(cx, input, first, key),
        }
    }
}

/// Reports `second` with a pointer at `first` (strum's occurrence error).
fn duplicate_key(cx: &Ctxt, input: &KeyedEnum<'_>, first: &Key, second: &Key) {
    let what = input.kind.name_kind().as_str();
    let attr = input.kind.attr_name();
    let value = &second.value;
    let msg = match &second.source {
        KeySource::Literal(_) => format!("duplicate {what} `{value}`"),
        KeySource::Derived(ident) => format!(
            "duplicate {what} `{value}`, derived from the variant name `{ident}`; set another with `#[{attr}(key = \"...\")]`"
        ),
    };
    cx.syn_error(syn::Error::new(second.span(), msg));
    let note = match &first.source {
        KeySource::Literal(_) => format!("{what} `{value}` first defined here"),
        KeySource::Derived(ident) => {
            format!("{what} `{value}` first defined here, derived from the variant name `{ident}`")
        }
    };
    cx.syn_error(syn::Error::new(first.span(), note));
}
