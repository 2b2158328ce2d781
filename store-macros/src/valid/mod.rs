//! The rules a macro input must follow. Every broken rule is recorded, each
//! on the tokens that break it; nothing stops at the first error.

mod events;
mod keyed;

pub(crate) use events::{namespace, namespaces};
pub(crate) use keyed::keyed_enum;
