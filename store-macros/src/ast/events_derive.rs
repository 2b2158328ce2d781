//! Modelling `#[derive(StoreEvents)]` as a [`Namespace`].
//!
//! ```text
//! #[derive(StoreEvents)]
//! #[store(namespace = "billing", rename_all = "camelCase")]
//! enum Billing {
//!     Charged(Charge),
//!     #[store(group = "refunds", rename = "issued")]
//!     Refund(Refund),
//! }
//! ```

use syn::ext::IdentExt;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Path, Variant};

use super::attr::{path_to_string, skip_value, string_value};
use super::events::{Event, Form, Name, NameSource, Namespace, Payload};
use crate::case::{self, GenIdent, RenameRule};
use crate::ctxt::Ctxt;

const ATTR: &str = "store";

/// Models `input`, recording every attribute error in `cx`. `None` when the
/// input is not an enum at all (the error is recorded).
pub(crate) fn from_derive(cx: &Ctxt, input: &DeriveInput) -> Option<Namespace> {
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            not_an_enum(cx, data.struct_token, &input.ident);
            return None;
        }
        Data::Union(data) => {
            not_an_enum(cx, data.union_token, &input.ident);
            return None;
        }
    };
    let options = EnumOptions::from_attrs(cx, &input.attrs);
    let rule = options.rename_all.unwrap_or(RenameRule::Snake);
    let events = data
        .variants
        .iter()
        .enumerate()
        .map(|(order, variant)| event(cx, variant, rule, order))
        .collect();
    Some(Namespace {
        name: options.namespace.map(|lit| literal_name(&lit)),
        form: Form::Derive {
            ident: input.ident.clone(),
            generics: input.generics.clone(),
        },
        groups: Vec::new(),
        events,
    })
}

fn not_an_enum(cx: &Ctxt, keyword: impl quote::ToTokens, ident: &Ident) {
    cx.error_spanned_by(
        quote::quote!(#keyword #ident),
        "StoreEvents can only be derived for an enum whose variants each carry one payload, e.g. `Charged(Charge)`",
    );
}

/// The options of the enum's own `#[store(..)]`.
#[derive(Default)]
struct EnumOptions {
    namespace: Option<LitStr>,
    rename_all: Option<RenameRule>,
}

impl EnumOptions {
    fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut options = EnumOptions::default();
        let mut rename_all_seen = false;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident(ATTR)) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("namespace") {
                    let lit = string_value(&meta, "#[store(namespace = \"...\")]")?;
                    set_once(cx, &mut options.namespace, lit, &meta.path);
                } else if meta.path.is_ident("rename_all") {
                    let lit = string_value(&meta, "#[store(rename_all = \"...\")]")?;
                    if rename_all_seen {
                        duplicate_option(cx, &meta.path);
                        return Ok(());
                    }
                    rename_all_seen = true;
                    match RenameRule::from_name(&lit.value()) {
                        Some(rule) => options.rename_all = Some(rule),
                        None => cx.error_spanned_by(
                            &lit,
                            format_args!(
                                "unknown rename_all rule `{}`; expected one of {}",
                                lit.value(),
                                RenameRule::list()
                            ),
                        ),
                    }
                } else if meta.path.is_ident("rename") || meta.path.is_ident("group") {
                    misplaced(cx, &meta.path, "a variant option", "variant");
                    skip_value(&meta)?;
                } else {
                    unknown_option(cx, &meta.path, "`namespace` or `rename_all`");
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = parsed {
                cx.syn_error(err);
            }
        }
        options
    }
}

/// Models one variant as an event.
fn event(cx: &Ctxt, variant: &Variant, rule: RenameRule, order: usize) -> Event {
    let mut rename: Option<LitStr> = None;
    let mut group: Option<LitStr> = None;
    let mut unreadable = false;
    for attr in variant
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident(ATTR))
    {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit = string_value(&meta, "#[store(rename = \"...\")]")?;
                set_once(cx, &mut rename, lit, &meta.path);
            } else if meta.path.is_ident("group") {
                let lit = string_value(&meta, "#[store(group = \"...\")]")?;
                set_once(cx, &mut group, lit, &meta.path);
            } else if meta.path.is_ident("namespace") || meta.path.is_ident("rename_all") {
                misplaced(cx, &meta.path, "an enum option", "enum");
                skip_value(&meta)?;
            } else {
                unknown_option(cx, &meta.path, "`rename` or `group`");
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(err) = parsed {
            cx.syn_error(err);
            unreadable = true;
        }
    }
    let ident = &variant.ident;
    let unraw = ident.unraw().to_string();
    let name = match &rename {
        // The name is unknown; checking a guess would only add errors.
        _ if unreadable => Name {
            value: unraw.clone(),
            span: ident.span(),
            source: NameSource::Unreadable,
        },
        Some(lit) => literal_name(lit),
        None => Name {
            value: rule.apply(&unraw),
            span: ident.span(),
            source: NameSource::Derived {
                variant: ident.clone(),
                rule,
            },
        },
    };
    let payload = match &variant.fields {
        Fields::Unit => Payload::Missing,
        Fields::Unnamed(fields) if fields.unnamed.is_empty() => Payload::Missing,
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
            Payload::Type(Box::new(fields.unnamed[0].ty.clone()))
        }
        Fields::Unnamed(fields) => Payload::Several(fields.clone()),
        Fields::Named(fields) => Payload::Named(fields.clone()),
    };
    Event {
        groups: if unreadable {
            Vec::new()
        } else {
            group.iter().map(literal_name).collect()
        },
        name,
        payload,
        // Docs and deprecation describe the event: its constant shares them.
        attrs: variant
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("deprecated"))
            .cloned()
            .collect(),
        cfgs: Vec::new(),
        const_name: GenIdent::new(case::screaming_snake(&unraw), ident.span()),
        variant: GenIdent::new(ident.to_string(), ident.span()),
        order,
    }
}

fn literal_name(lit: &LitStr) -> Name {
    Name {
        value: lit.value(),
        span: lit.span(),
        source: NameSource::Literal,
    }
}

fn set_once(cx: &Ctxt, slot: &mut Option<LitStr>, lit: LitStr, path: &Path) {
    if slot.is_some() {
        duplicate_option(cx, path);
    } else {
        *slot = Some(lit);
    }
}

fn duplicate_option(cx: &Ctxt, path: &Path) {
    cx.error_spanned_by(
        path,
        format_args!("duplicate store option `{}`", path_to_string(path)),
    );
}

fn unknown_option(cx: &Ctxt, path: &Path, expected: &str) {
    cx.error_spanned_by(
        path,
        format_args!(
            "unknown store option `{}`; expected {expected}",
            path_to_string(path)
        ),
    );
}

/// An option known elsewhere: `rename` on the enum, `namespace` on a variant.
fn misplaced(cx: &Ctxt, path: &Path, what: &str, place: &str) {
    let option = path_to_string(path);
    cx.error_spanned_by(
        path,
        format_args!("`{option}` is {what}: put `#[store({option} = \"...\")]` above the {place}"),
    );
}
