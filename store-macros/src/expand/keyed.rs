//! Code generation for the keyed enums (`StoreScopes`, `StoreActors`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Ident, LitBool, LitStr, Visibility};

use crate::ast::{KeyedEnum, KeyedKind};
use crate::case;
use crate::ctxt::Ctxt;
use crate::valid;

/// Expands a keyed-enum derive (`StoreScopes`, `StoreActors`): the trait
/// impl, or every error found.
pub(crate) fn derive_keyed_enum(input: &DeriveInput, kind: KeyedKind) -> TokenStream {
    let cx = Ctxt::new();
    let model = KeyedEnum::from_syn(&cx, input, kind);
    if let Some(model) = &model {
        valid::keyed_enum(&cx, model);
    }
    match cx.check() {
        Ok(()) => model
            .map(|model| impl_keyed_enum(&model))
            .unwrap_or_default(),
        Err(err) => {
            let mut tokens = err.into_compile_error();
            tokens.extend(fallback(input, kind));
            tokens
        }
    }
}

/// The runtime items a kind implements: trait, associated constant, def type.
struct RuntimeItems {
    trait_path: TokenStream,
    list: TokenStream,
    def: TokenStream,
}

fn runtime_items(kind: KeyedKind) -> RuntimeItems {
    match kind {
        KeyedKind::Scope => RuntimeItems {
            trait_path: quote!(::igniter_store::__private::StoreScopes),
            list: quote!(SCOPES),
            def: quote!(::igniter_store::__private::ScopeDef),
        },
        KeyedKind::Actor => RuntimeItems {
            trait_path: quote!(::igniter_store::__private::StoreActors),
            list: quote!(ACTORS),
            def: quote!(::igniter_store::__private::ActorDef),
        },
    }
}

fn impl_keyed_enum(input: &KeyedEnum<'_>) -> TokenStream {
    let RuntimeItems {
        trait_path,
        list,
        def,
    } = runtime_items(input.kind);
    let ident = input.ident;
    // Spanned at the user's key and option so that any error rustc finds in
    // a definition points at what the user wrote.
    let defs = input.variants.iter().map(|variant| {
        let span = variant.key.span();
        let key = LitStr::new(&variant.key.value, span);
        match input.kind {
            KeyedKind::Scope => {
                let required = match &variant.required {
                    Some(path) => LitBool::new(true, path.span()),
                    None => LitBool::new(false, span),
                };
                quote_spanned!(span=> #def::new(#key, #required))
            }
            KeyedKind::Actor => quote_spanned!(span=> #def::new(#key)),
        }
    });
    let arms = input.variants.iter().enumerate().map(|(index, variant)| {
        let variant = variant.ident;
        quote_spanned!(variant.span()=> Self::#variant => #index)
    });
    let typed_path = match input.kind {
        KeyedKind::Scope => typed_path(input),
        KeyedKind::Actor => TokenStream::new(),
    };
    quote! {
        #[automatically_derived]
        impl #trait_path for #ident {
            const #list: &'static [#def] = &[#(#defs),*];

            #[inline]
            fn index(&self) -> usize {
                match *self {
                    #(#arms,)*
                }
            }
        }

        #typed_path
    }
}

/// The module holding a scope enum's typed markers, unless
/// `#[scope(module = "..")]` names it: the enum's name in snake case
/// (`Tenant` → `tenant`), or that plus `_scopes` where the snake case is a
/// keyword.
fn module_ident(enum_ident: &Ident) -> Ident {
    let snake = case::snake(&enum_ident.unraw().to_string());
    let mut module =
        syn::parse_str::<Ident>(&snake).unwrap_or_else(|_| format_ident!("{}_scopes", snake));
    module.set_span(enum_ident.span());
    module
}

/// The visibility of the markers inside their module: at least the enum's.
fn inner_visibility(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Public(_) => quote!(pub),
        Visibility::Restricted(r) if r.in_token.is_none() && r.path.is_ident("crate") => {
            quote!(pub(crate))
        }
        // `pub(super)`, `pub(in path)`: the module is one level deeper, so
        // the crate is the nearest visibility that is sure to cover it.
        Visibility::Restricted(_) => quote!(pub(crate)),
    }
}

/// The typed path of a scope enum: a marker per scope, the position of the
/// root and of each marker (the first required scope it lacks), and which
/// scope may follow which. Impls stay outside the module so that `Tenant`
/// resolves where the user wrote it, even in a function body.
fn typed_path(input: &KeyedEnum<'_>) -> TokenStream {
    let ident = input.ident;
    let vis = input.vis;
    let inner_vis = inner_visibility(vis);
    let module = match &input.module {
        Some(lit) => Ident::new(&lit.value(), lit.span()),
        None => module_ident(ident),
    };
    let p = quote!(::igniter_store::__private);
    let markers: Vec<&Ident> = input.variants.iter().map(|v| v.ident).collect();
    let required: Vec<bool> = input
        .variants
        .iter()
        .map(|v| v.required.is_some())
        .collect();
    let n = markers.len();

    let structs = input.variants.iter().map(|variant| {
        let marker = variant.ident;
        let doc = format!(
            "The `{}` scope of [`{}`](super::{}) on the typed path: `store.scope({}::{}, id)`.",
            variant.key.value, ident, ident, module, marker
        );
        quote_spanned! {marker.span()=>
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
            #inner_vis struct #marker;
        }
    });
    let module_doc = format!(
        "The typed scope path of [`{ident}`], written by `#[derive(StoreScopes)]`: one marker per scope, accepted by `Store::scope` in declaration order only."
    );

    // The first required scope at or after `from`.
    let missing = |from: usize| -> TokenStream {
        match (from..n).find(|&i| required[i]) {
            Some(i) => {
                let m = markers[i];
                quote!(#module::#m)
            }
            None => quote!(#p::AllRequired),
        }
    };
    let root_missing = missing(0);
    let positions = markers.iter().enumerate().map(|(i, marker)| {
        let missing = missing(i + 1);
        quote! {
            #[automatically_derived]
            impl #p::ScopePosition for #module::#marker {
                type Scopes = #ident;
                type Missing = #missing;
            }

            #[automatically_derived]
            impl ::core::convert::From<#module::#marker> for #ident {
                #[inline]
                fn from(_: #module::#marker) -> Self {
                    #ident::#marker
                }
            }
        }
    });

    // A scope value may follow every position (checked at run time). One
    // impl per position rather than a blanket one, so that a value of
    // another enum is the `NextScope` error, on the argument.
    let value_positions = std::iter::once(quote!(#ident))
        .chain(markers.iter().map(|m| quote!(#module::#m)))
        .chain(std::iter::once(quote!(#p::Dynamic<#ident>)));
    let values: Vec<TokenStream> = value_positions
        .map(|position| {
            value_follows(
                &p,
                ident,
                &position,
                quote!(<Self as #p::StoreScopes>::index(self)),
            )
        })
        .collect();

    // Scope `t` may follow position `from` (None: the root) when it comes
    // later and no required scope lies between them.
    let mut follows = Vec::new();
    for from in std::iter::once(None).chain((0..n).map(Some)) {
        let start = from.map_or(0, |f| f + 1);
        let position = match from {
            None => quote!(#ident),
            Some(f) => {
                let m = markers[f];
                quote!(#module::#m)
            }
        };
        for t in start..n {
            let marker = markers[t];
            // Through the variant, which also counts as constructing it: an
            // enum used only on the typed path warns of no dead variant.
            follows.push(quote! {
                #[automatically_derived]
                impl #p::NextScope<#position> for #module::#marker {
                    type Next = #module::#marker;
                    #[inline]
                    fn scope_index(&self) -> usize {
                        <#ident as #p::StoreScopes>::index(&#ident::#marker)
                    }
                }
            });
            if required[t] {
                break;
            }
        }
    }

    quote! {
        #[doc = #module_doc]
        #vis mod #module {
            #(#structs)*
        }

        #[automatically_derived]
        impl #p::ScopePosition for #ident {
            type Scopes = #ident;
            type Missing = #root_missing;
        }

        #(#positions)*

        #(#values)*

        #(#follows)*
    }
}

/// After an error, an impl that never runs, so that the user's uses of the
/// type (`.scopes::<Tenant>()`, `.actors::<Actor>()`) do not add "trait not implemented" errors
/// to the real ones. Only for an enum without generics, the one shape the
/// impl is sure to compile for.
fn fallback(input: &DeriveInput, kind: KeyedKind) -> TokenStream {
    if !matches!(input.data, Data::Enum(_))
        || !input.generics.params.is_empty()
        || input.generics.where_clause.is_some()
    {
        return TokenStream::new();
    }
    let RuntimeItems {
        trait_path,
        list,
        def,
    } = runtime_items(kind);
    let ident = &input.ident;
    let derive = kind.derive_name();
    let p = quote!(::igniter_store::__private);
    let unreachable = quote!(::core::unreachable!(
        concat!("the ", #derive, " derive failed to compile")
    ));
    let root_value = value_follows(&p, ident, &quote!(#ident), unreachable.clone());
    let dynamic_value = value_follows(&p, ident, &quote!(#p::Dynamic<#ident>), unreachable);
    let scope_fallback = match kind {
        KeyedKind::Scope => quote! {
                #[automatically_derived]
                impl #p::ScopePosition for #ident {
                    type Scopes = #ident;
                    type Missing = #p::AllRequired;
                }

        #root_value
                #dynamic_value
            },
        KeyedKind::Actor => TokenStream::new(),
    };
    quote! {
        #[automatically_derived]
        impl #trait_path for #ident {
            const #list: &'static [#def] = &[];

            fn index(&self) -> usize {
                ::core::unreachable!(concat!("the ", #derive, " derive failed to compile"))
            }
        }

        #scope_fallback
    }
}

/// `impl NextScope<position> for Enum`: a scope value after `position`,
/// leading to a `Dynamic` chain.
fn value_follows(
    p: &TokenStream,
    ident: &Ident,
    position: &TokenStream,
    index: TokenStream,
) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl #p::NextScope<#position> for #ident {
            type Next = #p::Dynamic<#ident>;
            #[inline]
            fn scope_index(&self) -> usize {
                #index
            }
        }
    }
}
