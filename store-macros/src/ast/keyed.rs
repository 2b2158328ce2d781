//! The model of a keyed enum: `derive(StoreScopes)` and `derive(StoreActors)`.

use igniter_store_names::NameKind;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{
    Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr, Path, Token, Variant,
    Visibility, token,
};

use super::attr::{path_to_string, skip_value, string_value};
use crate::case;
use crate::ctxt::Ctxt;

/// What a keyed enum declares. Scope keys and actor keys follow identical
/// rules, so both derives share [`KeyedEnum`]; the kind only supplies the
/// words and the runtime items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyedKind {
    /// `#[derive(StoreScopes)]`, `#[scope(..)]`, `ScopeDef`.
    Scope,
    /// `#[derive(StoreActors)]`, `#[actor(..)]`, `ActorDef`.
    Actor,
}

impl KeyedKind {
    /// The derive's name, as the user wrote it in `#[derive(..)]`.
    pub(crate) fn derive_name(self) -> &'static str {
        match self {
            KeyedKind::Scope => "StoreScopes",
            KeyedKind::Actor => "StoreActors",
        }
    }

    /// The helper attribute on variants.
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            KeyedKind::Scope => "scope",
            KeyedKind::Actor => "actor",
        }
    }

    /// The word for one variant, in messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            KeyedKind::Scope => "scope",
            KeyedKind::Actor => "actor",
        }
    }

    /// Whether variants accept the `required` option: only scopes can be
    /// required in a chain.
    pub(crate) fn has_required(self) -> bool {
        match self {
            KeyedKind::Scope => true,
            KeyedKind::Actor => false,
        }
    }

    /// The options a variant accepts, for messages.
    fn expected_options(self) -> &'static str {
        if self.has_required() {
            "`key` or `required`"
        } else {
            "`key`"
        }
    }

    /// The most variants an enum may declare: the runtime tracks the scopes
    /// present in a chain in a `u64` bit mask. Actors have no limit.
    pub(crate) fn max_variants(self) -> Option<usize> {
        match self {
            KeyedKind::Scope => Some(64),
            KeyedKind::Actor => None,
        }
    }

    /// The name rules its keys follow.
    pub(crate) fn name_kind(self) -> NameKind {
        match self {
            KeyedKind::Scope => NameKind::Scope,
            KeyedKind::Actor => NameKind::Actor,
        }
    }
}

/// An enum whose unit variants each name a key: `#[derive(StoreScopes)]`,
/// `#[derive(StoreActors)]`.
pub(crate) struct KeyedEnum<'a> {
    pub(crate) kind: KeyedKind,
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) generics: &'a Generics,
    /// The enum's own `#[scope(..)]` (`#[actor(..)]`) attributes, which are
    /// misplaced (except a scope enum's `#[scope(module = "..")]`).
    pub(crate) own_attrs: Vec<&'a Attribute>,
    /// `#[scope(module = "..")]` on a scope enum: the typed path's module.
    pub(crate) module: Option<LitStr>,
    pub(crate) variants: Vec<KeyedVariant<'a>>,
}

/// One variant of a [`KeyedEnum`].
pub(crate) struct KeyedVariant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    pub(crate) key: Key,
    /// The `required` option's path, when given (scopes only).
    pub(crate) required: Option<Path>,
}

/// A key and where it comes from.
pub(crate) struct Key {
    pub(crate) value: String,
    pub(crate) source: KeySource,
}

/// Where a key was written, so errors point at it.
pub(crate) enum KeySource {
    /// `#[scope(key = "ws")]`, `#[actor(key = "user")]`: the literal.
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
        let mut own_attrs = Vec::new();
        let mut module = None;
        for attr in &input.attrs {
            if !attr.path().is_ident(kind.attr_name()) {
                continue;
            }
            match module_option(cx, attr, kind) {
                Some(lit) if module.is_none() => module = Some(lit),
                Some(lit) => cx.error_spanned_by(&lit, "duplicate scope option `module`"),
                None => own_attrs.push(attr),
            }
        }
        let variants = data
            .variants
            .iter()
            .map(|variant| KeyedVariant::from_syn(cx, variant, kind))
            .collect();
        Some(KeyedEnum {
            kind,
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            own_attrs,
            module,
            variants,
        })
    }
}

/// The `"name"` of a scope enum's `#[scope(module = "name")]`, when that is
/// the attribute's one option; `None` for anything else (a misplaced variant
/// attribute, reported by validation).
fn module_option(cx: &Ctxt, attr: &Attribute, kind: KeyedKind) -> Option<LitStr> {
    if kind != KeyedKind::Scope {
        return None;
    }
    let mut module = None;
    let mut other = false;
    let parsed = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("module") {
            module = Some(string_value(&meta, "#[scope(module = \"name\")]")?);
        } else {
            other = true;
            skip_value(&meta)?;
        }
        Ok(())
    });
    match parsed {
        Err(err) if !other => {
            cx.syn_error(err);
            None
        }
        _ if other => None,
        _ => module,
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
                    let lit =
                        string_value(&meta, &format!("#[{}(key = \"...\")]", kind.attr_name()))?;
                    if key.is_some() {
                        duplicate_option(cx, kind, &meta.path);
                    } else {
                        key = Some(lit);
                    }
                } else if kind.has_required() && meta.path.is_ident("required") {
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
                            "unknown {} option `{}`; expected {}",
                            kind.noun(),
                            path_to_string(&meta.path),
                            kind.expected_options()
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
            None => Key {
                value: case::snake(&variant.ident.unraw().to_string()),
                source: KeySource::Derived(variant.ident.clone()),
            },
        };
        KeyedVariant {
            ident: &variant.ident,
            fields: &variant.fields,
            key,
            required,
        }
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
