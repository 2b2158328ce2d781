//! Parsing `events! { .. }` into [`Namespace`]s.
//!
//! ```text
//! events! {
//!     /// docs
//!     pub user {
//!         /// docs
//!         created(UserCreated),
//!         group notifications {
//!             email(EmailSent),
//!         }
//!     }
//!     pub(crate) billing { charged(Charge) }
//! }
//! ```
//!
//! A malformed invocation is a syntax error and stops parsing; whether the
//! names are allowed is for `valid`.

use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Attribute, Ident, Token, Type, Visibility, braced, parenthesized, token};

use super::events::{Event, Form, Group, Name, NameSource, Namespace, Payload};
use crate::case::{self, GenIdent};

syn::custom_keyword!(group);

/// Parses the whole input of `events!`: namespaces, optionally separated by
/// commas.
pub(crate) fn parse_events(input: ParseStream<'_>) -> syn::Result<Vec<Namespace>> {
    let mut namespaces = Vec::new();
    while !input.is_empty() {
        namespaces.push(parse_namespace(input)?);
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(namespaces)
}

fn parse_namespace(input: ParseStream<'_>) -> syn::Result<Namespace> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    if input.peek(Token![mod]) {
        return Err(input
            .error("a namespace is written without `mod`: `pub user { created(UserCreated) }`"));
    }
    let ident: Ident = input.parse()?;
    let content;
    braced!(content in input);
    let mut items = Items::default();
    items.parse(&content, &[], &[])?;
    Ok(Namespace {
        name: Some(ident_name(&ident)),
        form: Form::Macro { attrs, vis, ident },
        groups: items.groups,
        events: items.events,
    })
}

/// The groups and events of one namespace, collected depth first.
#[derive(Default)]
struct Items {
    groups: Vec<Group>,
    events: Vec<Event>,
    /// Groups and events seen so far: the next one's `order`.
    seen: usize,
}

impl Items {
    fn next_order(&mut self) -> usize {
        self.seen += 1;
        self.seen - 1
    }

    /// Parses the items of a namespace or group whose path is `parents`,
    /// compiled under `cfgs`.
    fn parse(
        &mut self,
        input: ParseStream<'_>,
        parents: &[Name],
        cfgs: &[Attribute],
    ) -> syn::Result<()> {
        while !input.is_empty() {
            let attrs = input.call(Attribute::parse_outer)?;
            let mut item_cfgs = cfgs.to_vec();
            item_cfgs.extend(attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned());

            // `group(..)` is an event named `group`.
            if input.peek(group) && !input.peek2(token::Paren) {
                input.parse::<group>()?;
                let ident: Ident = input.parse()?;
                let content;
                braced!(content in input);
                let name = ident_name(&ident);
                let mut path = parents.to_vec();
                path.push(name.clone());
                let order = self.next_order();
                self.groups.push(Group {
                    parents: parents.to_vec(),
                    name,
                    ident,
                    attrs,
                    order,
                });
                self.parse(&content, &path, &item_cfgs)?;
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                }
                continue;
            }

            let ident: Ident = input.parse()?;
            let ty = parse_payload(input, &ident)?;
            let name = ident_name(&ident);
            let variant = case::pascal(
                parents
                    .iter()
                    .chain([&name])
                    .map(|name| name.value.as_str()),
            );
            let order = self.next_order();
            self.events.push(Event {
                groups: parents.to_vec(),
                const_name: GenIdent::new(case::screaming_snake(&name.value), ident.span()),
                variant: GenIdent::new(variant, ident.span()),
                name,
                payload: Payload::Type(Box::new(ty)),
                attrs,
                cfgs: item_cfgs,
                order,
            });
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    }
}

/// Parses the `(PayloadType)` after the event `ident`.
fn parse_payload(input: ParseStream<'_>, ident: &Ident) -> syn::Result<Type> {
    if !input.peek(token::Paren) {
        return Err(syn::Error::new(
            ident.span(),
            format_args!(
                "an event carries its payload type in parentheses: `{ident}(PayloadType)`; a group is written `group {ident} {{ .. }}`"
            ),
        ));
    }
    let content;
    let parens = parenthesized!(content in input);
    if content.is_empty() {
        return Err(syn::Error::new(
            parens.span.join(),
            format_args!(
                "an event carries one payload type: `{ident}(PayloadType)`; for an event without data, write `{ident}(())`"
            ),
        ));
    }
    let ty: Type = content.parse()?;
    if !content.is_empty() {
        return Err(syn::Error::new(
            parens.span.join(),
            format_args!(
                "an event carries exactly one payload type; to carry several values, use a struct or a tuple: `{ident}((A, B))`"
            ),
        ));
    }
    Ok(ty)
}

/// The name an identifier gives, without its raw prefix: `r#type` → `type`.
fn ident_name(ident: &Ident) -> Name {
    Name {
        value: ident.unraw().to_string(),
        span: ident.span(),
        source: NameSource::Ident,
    }
}
