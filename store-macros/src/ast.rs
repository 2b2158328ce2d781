//! A typed model of the derive inputs over syn. Every node keeps the user's
//! tokens (or a reference to them) so that validation and code generation
//! can point at exactly what the user wrote.
//!
//! Parsing only records what is written; whether it is allowed is decided in
//! `valid`. Attribute syntax errors (an unknown option, an option given
//! twice, a key that is not a string literal) are reported here, since
//! nothing can be modelled from them.

use igniter_store_names::NameKind;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Generics, Ident, Lit, LitStr, Path, Token,
    Variant, token,
};

use crate::ctxt::Ctxt;

/// What a keyed enum declares. Scope keys and actor keys follow identical
/// rules, so both derives share [`KeyedEnum`]; the kind only supplies the
/// words and the runtime items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyedKind {
    /// `#[derive(StoreScopes)]`, `#[scope(..)]`, `ScopeDef`.
    Scope,
}

impl KeyedKind {
    /// The derive's name, as the user wrote it in `#[derive(..)]`.
    pub(crate) fn derive_name(self) -> &'static str {
        match self {
            KeyedKind::Scope => "StoreScopes",
        }
    }

    /// The helper attribute on variants.
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            KeyedKind::Scope => "scope",
        }
    }

    /// The word for one variant, in messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            KeyedKind::Scope => "scope",
        }
    }

    /// The name rules its keys follow.
    pub(crate) fn name_kind(self) -> NameKind {
        match self {
            KeyedKind::Scope => NameKind::Scope,
        }
    }
}

/// An enum whose unit variants each name a key: `#[derive(StoreScopes)]`.
pub(crate) struct KeyedEnum<'a> {
    pub(crate) kind: KeyedKind,
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// The enum's own `#[scope(..)]` attributes, which are misplaced.
    pub(crate) own_attrs: Vec<&'a Attribute>,
    pub(crate) variants: Vec<KeyedVariant<'a>>,
}

/// One variant of a [`KeyedEnum`].
pub(crate) struct KeyedVariant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    pub(crate) key: Key,
    /// The `required` option's path, when given.
    pub(crate) required: Option<Path>,
}

/// A key and where it comes from.
pub(crate) struct Key {
    pub(crate) value: String,
    pub(crate) source: KeySource,
}

/// Where a key was written, so errors point at it.
pub(crate) enum KeySource {
    /// `#[scope(key = "ws")]`: the literal.
    Literal(LitStr),
    /// No `key` option: the snake_case of the variant's name.
    Derived(Ident),
}

impl Key {
    pub(crate) fn span(&self) -> Span {
        match &self.source {
            KeySource::Literal(lit) => lit.span(),
            KeySource::Derived(ident) => ident.span(),
        }
    }
}

impl<'a> KeyedEnum<'a> {
    /// Models `input`, recording every error in `cx`. `None` when the input
    /// is not an enum at all (the error is recorded).
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput, kind: KeyedKind) -> Option<Self> {
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(data) => {
                not_an_enum(cx, kind, data.struct_token, &input.ident);
                return None;
            }
            Data::Union(data) => {
                not_an_enum(cx, kind, data.union_token, &input.ident);
                return None;
            }
        };
        let own_attrs = input
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident(kind.attr_name()))
            .collect();
        let variants = data
            .variants
            .iter()
            .map(|variant| KeyedVariant::from_syn(cx, variant, kind))
            .collect();
        Some(KeyedEnum {
            kind,
            ident: &input.ident,
            generics: &input.generics,
            own_attrs,
            variants,
        })
    }
}

fn not_an_enum(cx: &Ctxt, kind: KeyedKind, keyword: impl quote::ToTokens, ident: &Ident) {
    cx.error_spanned_by(
        quote::quote!(#keyword #ident),
        format_args!(
            "{} can only be derived for an enum of unit variants",
            kind.derive_name()
        ),
    );
}

impl<'a> KeyedVariant<'a> {
    fn from_syn(cx: &Ctxt, variant: &'a Variant, kind: KeyedKind) -> Self {
        let mut key: Option<LitStr> = None;
        let mut required: Option<Path> = None;
        for attr in &variant.attrs {
            if !attr.path().is_ident(kind.attr_name()) {
                continue;
            }
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("key") {
                    let lit = parse_key(&meta, kind)?;
                    if key.is_some() {
                        duplicate_option(cx, kind, &meta.path);
                    } else {
                        key = Some(lit);
                    }
                } else if meta.path.is_ident("required") {
                    if meta.input.peek(Token![=]) || meta.input.peek(token::Paren) {
                        return Err(meta.error(format_args!(
                            "`required` takes no value: write `#[{}(required)]`",
                            kind.attr_name()
                        )));
                    }
                    if required.is_some() {
                        duplicate_option(cx, kind, &meta.path);
                    } else {
                        required = Some(meta.path.clone());
                    }
                } else {
                    cx.error_spanned_by(
                        &meta.path,
                        format_args!(
                            "unknown {} option `{}`; expected `key` or `required`",
                            kind.noun(),
                            path_to_string(&meta.path)
                        ),
                    );
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = parsed {
                cx.syn_error(err);
            }
        }
        let key = match key {
            Some(lit) => Key {
                value: lit.value(),
                source: KeySource::Literal(lit),
            },
            None => {
                let ident = variant.ident.unraw();
                let mut value = String::new();
                // Writing into a String cannot fail.
                let _ = igniter_store_names::write_snake_case(&ident.to_string(), &mut value);
                Key {
                    value,
                    source: KeySource::Derived(variant.ident.clone()),
                }
            }
        };
        KeyedVariant {
            ident: &variant.ident,
            fields: &variant.fields,
            key,
            required,
        }
    }
}

/// Parses the `= "..."` of a `key` option.
fn parse_key(meta: &ParseNestedMeta<'_>, kind: KeyedKind) -> syn::Result<LitStr> {
    let example = || {
        format!(
            "expected a string literal: `#[{}(key = \"...\")]`",
            kind.attr_name()
        )
    };
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(example()));
    }
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.suffix().is_empty() => Ok(lit),
        other => Err(syn::Error::new(other.span(), example())),
    }
}

fn duplicate_option(cx: &Ctxt, kind: KeyedKind, path: &Path) {
    cx.error_spanned_by(
        path,
        format_args!(
            "duplicate {} option `{}`",
            kind.noun(),
            path_to_string(path)
        ),
    );
}

/// Consumes the value of an unknown option (`= expr` or `(..)`), so the
/// options after it are still read and checked.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

fn path_to_string(path: &Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}
