//! Actors: who performs an operation, carried in event envelopes. Actors
//! never change keys.

/// The set of actors a store accepts. Actors never change keys; they are
/// carried in the envelopes of published events.
pub trait StoreActors: Send + Sync + 'static {
    /// Every actor key, in declaration order.
    const ACTORS: &'static [&'static str];

    /// The position of `self` in [`StoreActors::ACTORS`].
    fn index(&self) -> usize;

    /// The actor key of `self`.
    fn key(&self) -> &'static str {
        Self::ACTORS[self.index()]
    }
}

/// The actor set of a store built without actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoActors {}

impl StoreActors for NoActors {
    const ACTORS: &'static [&'static str] = &[];

    fn index(&self) -> usize {
        match *self {}
    }
}
