//! Code generation. Generated code names runtime items only through
//! `::igniter_store::__private`, the runtime's private path, so the macro
//! crate (pinned to the runtime's exact version) and the runtime cannot drift.

mod events;
mod keyed;
mod paths;

pub(crate) use events::{derive_store_events, events_macro};
pub(crate) use keyed::derive_keyed_enum;
