//! Typed models of the macro inputs over syn. Every node keeps the user's
//! tokens (or their spans) so that validation and code generation can point
//! at exactly what the user wrote.
//!
//! Parsing only records what is written; whether it is allowed is decided in
//! `valid`. Attribute syntax errors (an unknown option, an option given
//! twice, a value that is not a string literal) are reported here, since
//! nothing can be modelled from them.
//!
//! - `keyed`: `derive(StoreScopes)` and `derive(StoreActors)`.
//! - `events`: the one model of an event namespace, which `events!`
//!   (`events_macro`) and `derive(StoreEvents)` (`events_derive`) both
//!   parse into.

mod attr;
mod events;
mod events_derive;
mod events_macro;
mod keyed;

pub(crate) use events::{Event, Form, Name, NameSource, Namespace, Payload};
pub(crate) use events_derive::from_derive as events_from_derive;
pub(crate) use events_macro::parse_events;
pub(crate) use keyed::{Key, KeySource, KeyedEnum, KeyedKind};
