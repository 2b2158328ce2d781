//! Code generation for the keyed enums (`StoreScopes`, `StoreActors`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, LitBool, LitStr};

use crate::ast::{KeyedEnum, KeyedKind};
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
    quote! {
        #[automatically_derived]
        impl #trait_path for #ident {
            const #list: &'static [#def] = &[];

            fn index(&self) -> usize {
                ::core::unreachable!(concat!("the ", #derive, " derive failed to compile"))
            }
        }
    }
}
