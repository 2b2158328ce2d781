//! Code generation for event namespaces. `events!` and `derive(StoreEvents)`
//! share everything they have in common: the channel constants, the
//! registry and the `StoreEvents` impl. They differ only in where the
//! constants go (nested modules, or an inherent impl of the user's enum)
//! and in who declares the enum (`events!` generates `Event`).
//!
//! After an error, the expansion still emits every item it can (duplicates
//! skipped, an impl whose methods never run), so the user's uses of
//! `user::CREATED` or `Billing::REGISTRY` add no "not found" errors to the
//! real ones.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, LitStr};

use super::paths::{Site, generated_names, relocate, type_string};
use crate::ast::{self, Event, Form, Namespace};
use crate::ctxt::Ctxt;
use crate::valid;

/// Expands `events! { .. }`: one module per namespace, or every error found.
pub(crate) fn events_macro(input: TokenStream) -> TokenStream {
    let namespaces = match ast::parse_events.parse2(input) {
        Ok(namespaces) => namespaces,
        Err(err) => return err.into_compile_error(),
    };
    let cx = Ctxt::new();
    valid::namespaces(&cx, &namespaces);
    let (mut tokens, mode) = checked(cx);
    let mut seen = HashSet::new();
    for ns in &namespaces {
        if let Form::Macro { ident, .. } = &ns.form
            && seen.insert(ident.unraw().to_string())
        {
            tokens.extend(namespace_module(ns, mode));
        }
    }
    tokens
}

/// Expands `#[derive(StoreEvents)]`: the channel constants and the registry
/// on the enum, and the `StoreEvents` impl, or every error found.
pub(crate) fn derive_store_events(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = ast::events_from_derive(&cx, input);
    if let Some(ns) = &model {
        valid::namespace(&cx, ns);
    }
    let (mut tokens, mode) = checked(cx);
    // After an error, only an enum without generics is sure to take the impls.
    let expand = mode == Mode::Checked
        || (input.generics.params.is_empty() && input.generics.where_clause.is_none());
    if let Some(ns) = &model
        && expand
    {
        tokens.extend(derive_impls(ns, mode));
    }
    tokens
}

/// Whether the model passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Valid: the real code.
    Checked,
    /// Invalid: the errors, plus items that compile and never run.
    Fallback,
}

fn checked(cx: Ctxt) -> (TokenStream, Mode) {
    match cx.check() {
        Ok(()) => (TokenStream::new(), Mode::Checked),
        Err(err) => (err.into_compile_error(), Mode::Fallback),
    }
}

fn private() -> TokenStream {
    quote!(::igniter_store::__private)
}

/// `events!`: the namespace's module.
fn namespace_module(ns: &Namespace, mode: Mode) -> TokenStream {
    let Form::Macro { attrs, vis, ident } = &ns.form else {
        return TokenStream::new();
    };
    let private = private();
    let ns_name = ns.name_str();
    let module_doc = default_doc(
        attrs,
        &format!("Events of the namespace `{ns_name}`, declared with `events!`."),
    );
    let body = module_body(ns, &[], 1);
    let top_names = generated_names(ns, &[]);

    // One variant per event, each name once (they can repeat only after an
    // error).
    let mut seen = HashSet::new();
    let events: Vec<&Event> = ns
        .events
        .iter()
        .filter(|event| {
            event.payload.ty().is_some()
                && event.variant.to_ident().is_some()
                && seen.insert(event.variant.value.as_str())
        })
        .collect();
    let variants = events.iter().map(|event| {
        let Some(variant) = event.variant.to_ident() else {
            return TokenStream::new();
        };
        let Some(ty) = event.payload.ty() else {
            return TokenStream::new();
        };
        let ty = relocate(ty, 1, &top_names);
        let cfgs = &event.cfgs;
        let docs: Vec<&Attribute> = event
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("deprecated"))
            .collect();
        let doc = default_doc(
            &event.attrs,
            &format!("The event `{}`.", ns.event_name(event)),
        );
        quote! {
            #(#cfgs)*
            #(#docs)*
            #doc
            #variant(#ty)
        }
    });
    let enum_doc = format!(
        "Every event of the namespace `{ns_name}`, one variant per channel: what `subscribe_all::<{}::Event>()` yields.",
        ident.unraw()
    );
    let registry = registry(ns, &events);
    let registry_doc = registry_doc(ns_name, &format!("{}::REGISTRY", ident.unraw()));
    let store_events = store_events_impl(
        ns,
        &events,
        &quote!(Event),
        &quote!(REGISTRY),
        Site {
            depth: 1,
            names: &top_names,
        },
        mode,
    );
    quote! {
        #(#attrs)*
        #module_doc
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #body

            #[doc = #enum_doc]
            // The payload types are the user's, often private to a binary
            // crate while the namespace is `pub`: the enum is as usable as
            // they are, which is what the user wrote, not a leak to warn of.
            #[allow(private_interfaces)]
            pub enum Event {
                #(#variants,)*
            }

            #store_events

            #[doc = #registry_doc]
            pub const REGISTRY: #private::EventRegistry = #registry;
        }
    }
}

/// `events!`: the channel constants of the events directly at `path`
/// (group names inside the namespace), and a module for each group there,
/// `depth` modules below the call site.
fn module_body(ns: &Namespace, path: &[&str], depth: usize) -> TokenStream {
    let at_path = |names: &mut dyn Iterator<Item = &str>| names.eq(path.iter().copied());
    let mut tokens = TokenStream::new();

    // The namespace's module also holds `REGISTRY` and `Event`.
    let mut constants: HashSet<&str> = HashSet::new();
    let mut modules: HashSet<String> = HashSet::new();
    if path.is_empty() {
        constants.insert("REGISTRY");
        modules.insert("Event".to_owned());
    }
    let names = generated_names(ns, path);
    let site = Site {
        depth,
        names: &names,
    };
    for event in &ns.events {
        if at_path(&mut event.groups.iter().map(|name| name.value.as_str()))
            && constants.insert(&event.const_name.value)
        {
            tokens.extend(channel_const(ns, event, site));
        }
    }
    for group in &ns.groups {
        if !at_path(&mut group.parents.iter().map(|name| name.value.as_str()))
            || !modules.insert(group.ident.unraw().to_string())
        {
            continue;
        }
        let ident = &group.ident;
        let attrs = &group.attrs;
        let doc = default_doc(
            attrs,
            &format!("Events of the group `{}`.", ns.full_name(group.path())),
        );
        let mut inner_path = path.to_vec();
        inner_path.push(&group.name.value);
        let inner = module_body(ns, &inner_path, depth + 1);
        tokens.extend(quote! {
            #(#attrs)*
            #doc
            pub mod #ident {
                #[allow(unused_imports)]
                use super::*;

                #inner
            }
        });
    }
    tokens
}

/// `derive(StoreEvents)`: the constants and registry on the enum, and the
/// trait impl.
fn derive_impls(ns: &Namespace, mode: Mode) -> TokenStream {
    let Form::Derive { ident, .. } = &ns.form else {
        return TokenStream::new();
    };
    let private = private();
    let events: Vec<&Event> = ns
        .events
        .iter()
        .filter(|event| event.payload.ty().is_some())
        .collect();
    // The call site itself: nothing generated shadows anything there.
    let no_names = HashSet::new();
    let site = Site {
        depth: 0,
        names: &no_names,
    };
    let mut constants: HashSet<&str> = HashSet::from(["REGISTRY"]);
    let consts = events
        .iter()
        .filter(|event| constants.insert(&event.const_name.value))
        .map(|event| channel_const(ns, event, site));
    let registry = registry(ns, &events);
    let registry_doc = registry_doc(ns.name_str(), &format!("{ident}::REGISTRY"));
    let store_events = store_events_impl(
        ns,
        &events,
        &ident.to_token_stream(),
        &quote!(#ident::REGISTRY),
        site,
        mode,
    );
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#consts)*

            #[doc = #registry_doc]
            pub const REGISTRY: #private::EventRegistry = #registry;
        }

        #store_events
    }
}

/// The channel constant of `event`, declared at `site`.
fn channel_const(ns: &Namespace, event: &Event, site: Site<'_>) -> TokenStream {
    let (Some(ident), Some(ty)) = (event.const_name.to_ident(), event.payload.ty()) else {
        return TokenStream::new();
    };
    let private = private();
    let full = ns.event_name(event);
    let doc = default_doc(
        &event.attrs,
        &format!(
            "The channel `{full}`, whose payload is a `{}`.",
            type_string(ty)
        ),
    );
    let attrs = &event.attrs;
    let ty = relocate(ty, site.depth, site.names);
    let namespace = LitStr::new(ns.name_str(), Span::call_site());
    let name = LitStr::new(&full, event.name.span);
    quote! {
        #(#attrs)*
        #doc
        pub const #ident: #private::Channel<#ty> = #private::Channel::new(#namespace, #name);
    }
}

/// The `EventRegistry` expression of `events`.
fn registry(ns: &Namespace, events: &[&Event]) -> TokenStream {
    let private = private();
    let namespace = LitStr::new(ns.name_str(), Span::call_site());
    let channels = events.iter().filter_map(|event| {
        let ty = event.payload.ty()?;
        let cfgs = &event.cfgs;
        let name = LitStr::new(&ns.event_name(event), event.name.span);
        let payload = LitStr::new(&type_string(ty), ty.span());
        Some(quote! {
            #(#cfgs)*
            #private::ChannelDef::new(#name, #payload)
        })
    });
    quote!(#private::EventRegistry::new(#namespace, &[#(#channels),*]))
}

fn registry_doc(ns_name: &str, path: &str) -> String {
    format!(
        "Every channel of the namespace `{ns_name}`: give it to the store's builder with `.events({path})`."
    )
}

/// `impl StoreEvents for #self_ty`, whose variants hold the payloads of
/// `events`, declared at `site`.
fn store_events_impl(
    ns: &Namespace,
    events: &[&Event],
    self_ty: &TokenStream,
    registry: &TokenStream,
    site: Site<'_>,
    mode: Mode,
) -> TokenStream {
    let private = private();
    let (decode, name) = match mode {
        Mode::Checked => {
            let mut decode_arms = Vec::new();
            let mut name_arms = Vec::new();
            for event in events {
                let (Some(variant), Some(ty)) = (event.variant.to_ident(), event.payload.ty())
                else {
                    continue;
                };
                let cfgs = &event.cfgs;
                let full = LitStr::new(&ns.event_name(event), event.name.span);
                let ty = relocate(ty, site.depth, site.names);
                // Spanned at the payload type: a payload that does not
                // implement `Deserialize` is reported on the user's type.
                let from_str = quote_spanned!(ty.span()=> #private::serde_json::from_str::<#ty>);
                decode_arms.push(quote! {
                    #(#cfgs)*
                    #full => ::core::option::Option::Some(#from_str(data.get()).map(Self::#variant)),
                });
                name_arms.push(quote! {
                    #(#cfgs)*
                    Self::#variant(..) => #full,
                });
            }
            (
                quote! {
                    fn decode_event(
                        event: &str,
                        data: &#private::RawValue,
                    ) -> ::core::option::Option<::core::result::Result<Self, #private::serde_json::Error>> {
                        match event {
                            #(#decode_arms)*
                            _ => ::core::option::Option::None,
                        }
                    }
                },
                quote! {
                    fn event_name(&self) -> &'static str {
                        match *self {
                            #(#name_arms)*
                        }
                    }
                },
            )
        }
        Mode::Fallback => (
            quote! {
                fn decode_event(
                    _: &str,
                    _: &#private::RawValue,
                ) -> ::core::option::Option<::core::result::Result<Self, #private::serde_json::Error>> {
                    ::core::option::Option::None
                }
            },
            quote! {
                fn event_name(&self) -> &'static str {
                    ::core::unreachable!("the event declarations failed to compile")
                }
            },
        ),
    };
    quote! {
        #[automatically_derived]
        impl #private::StoreEvents for #self_ty {
            const REGISTRY: #private::EventRegistry = #registry;

            // Deprecated events are still decoded and named.
            #[allow(deprecated)]
            #decode

            #[allow(deprecated)]
            #name
        }
    }
}

/// `#[doc = text]` when `attrs` hold no doc comment of the user's, so every
/// public item is documented (`missing_docs`) and the user's docs win.
fn default_doc(attrs: &[Attribute], text: &str) -> TokenStream {
    if attrs.iter().any(|attr| attr.path().is_ident("doc")) {
        TokenStream::new()
    } else {
        quote!(#[doc = #text])
    }
}
