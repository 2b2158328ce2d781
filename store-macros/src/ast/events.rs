//! The one model of an event namespace. `events!` and `derive(StoreEvents)`
//! both parse into a [`Namespace`], so they share one validation and one
//! expander and cannot drift apart.
//!
//! The model is flat: every event records the groups it sits in, and the
//! groups `events!` declares are listed apart, with their own path. Rules
//! about names compare full paths (`user:notifications:email`), which reads
//! the same whether the groups were declared as blocks (`events!`) or named
//! on each variant (`#[store(group = "...")]`).

use proc_macro2::Span;
use syn::{Attribute, FieldsNamed, FieldsUnnamed, Generics, Ident, Type, Visibility};

use crate::case::{GenIdent, RenameRule};

/// One namespace of events: `pub user { .. }` in `events!`, or an enum
/// deriving `StoreEvents`.
pub(crate) struct Namespace {
    /// `None` only for a derive without `#[store(namespace = "...")]`.
    pub(crate) name: Option<Name>,
    pub(crate) form: Form,
    /// The groups declared with `group name { .. }`, in declaration order.
    /// Empty for the derive, whose groups exist only on its events.
    pub(crate) groups: Vec<Group>,
    /// Every event, in declaration order.
    pub(crate) events: Vec<Event>,
}

/// Which macro declared the namespace, and what only that macro has.
pub(crate) enum Form {
    /// `events! { #[attrs] vis name { .. } }`: a module named `ident`.
    Macro {
        attrs: Vec<Attribute>,
        vis: Visibility,
        ident: Ident,
    },
    /// `#[derive(StoreEvents)] enum Ident { .. }`.
    Derive { ident: Ident, generics: Generics },
}

/// A group declared in `events!`: `group notifications { .. }`.
pub(crate) struct Group {
    /// The groups around it, outermost first.
    pub(crate) parents: Vec<Name>,
    pub(crate) name: Name,
    /// The module the group becomes.
    pub(crate) ident: Ident,
    /// Its attributes, carried to the module.
    pub(crate) attrs: Vec<Attribute>,
    /// Its position among the namespace's groups and events, in source order.
    pub(crate) order: usize,
}

impl Group {
    /// The group's path inside the namespace, itself included.
    pub(crate) fn path(&self) -> impl Iterator<Item = &Name> {
        self.parents.iter().chain(std::iter::once(&self.name))
    }
}

/// One event: a name and the type of its payload.
pub(crate) struct Event {
    /// The groups it sits in, outermost first.
    pub(crate) groups: Vec<Name>,
    pub(crate) name: Name,
    pub(crate) payload: Payload,
    /// Attributes carried to the event's channel constant: all of them for
    /// `events!`, the doc comments and `#[deprecated]` of a variant.
    pub(crate) attrs: Vec<Attribute>,
    /// The `#[cfg(..)]`s the event is compiled under (its own and its
    /// groups'), repeated on everything generated for it: variant, match
    /// arms, registry entry. Always empty for the derive, whose input is
    /// already configured.
    pub(crate) cfgs: Vec<Attribute>,
    /// The channel constant: `CREATED`.
    pub(crate) const_name: GenIdent,
    /// The enum variant: `NotificationsEmail` in `user::Event`, or the
    /// deriving enum's own variant.
    pub(crate) variant: GenIdent,
    /// Its position among the namespace's groups and events, in source order.
    pub(crate) order: usize,
}

/// What an event carries.
pub(crate) enum Payload {
    /// Exactly one payload type: the only valid shape.
    Type(Box<Type>),
    /// A unit variant: `Charged`.
    Missing,
    /// Several fields: `Charged(Charge, Receipt)`.
    Several(FieldsUnnamed),
    /// Named fields: `Charged { charge: Charge }`.
    Named(FieldsNamed),
}

impl Payload {
    pub(crate) fn ty(&self) -> Option<&Type> {
        match self {
            Payload::Type(ty) => Some(ty),
            _ => None,
        }
    }
}

/// A namespace, group or event name and where it comes from.
#[derive(Clone)]
pub(crate) struct Name {
    pub(crate) value: String,
    pub(crate) span: Span,
    pub(crate) source: NameSource,
}

/// Where a name was written, for messages.
#[derive(Clone)]
pub(crate) enum NameSource {
    /// An identifier in `events!` (`created`, `r#type`).
    Ident,
    /// A string literal in `#[store(..)]`.
    Literal,
    /// Derived from a variant's name by the `rename_all` rule.
    Derived { variant: Ident, rule: RenameRule },
    /// A variant whose `#[store(..)]` could not be read (already an error):
    /// its name and group are unknown, and no rule applies to them.
    Unreadable,
}

impl Namespace {
    /// The namespace's name, or an empty string when the derive lacks one
    /// (already an error).
    pub(crate) fn name_str(&self) -> &str {
        self.name.as_ref().map_or("", |name| name.value.as_str())
    }

    /// The full name of the group or event at `path`:
    /// `user:notifications:email`.
    pub(crate) fn full_name<'a>(&self, path: impl IntoIterator<Item = &'a Name>) -> String {
        let mut full = self.name_str().to_owned();
        for name in path {
            if !full.is_empty() {
                full.push(':');
            }
            full.push_str(&name.value);
        }
        full
    }

    /// The full name of `event`, its channel's name.
    pub(crate) fn event_name(&self, event: &Event) -> String {
        self.full_name(event.path())
    }
}

impl Event {
    /// The event's path inside the namespace, its own name included.
    pub(crate) fn path(&self) -> impl Iterator<Item = &Name> {
        self.groups.iter().chain(std::iter::once(&self.name))
    }
}
