//! Actors: who performs an operation, carried in event envelopes. Actors
//! never change keys.

/// One declared actor: its key, e.g. `"user"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorDef {
    key: &'static str,
}

impl ActorDef {
    /// An actor whose key is `key`.
    pub const fn new(key: &'static str) -> Self {
        ActorDef { key }
    }

    /// The actor key, carried as `"actor": {"key": ..}` in envelopes.
    pub const fn key(&self) -> &'static str {
        self.key
    }
}

/// The set of actors a store accepts, usually derived with
/// `#[derive(StoreActors)]`. Actor keys follow the rules of scope keys.
/// Actors never change keys; they are carried in the envelopes of published
/// events.
pub trait StoreActors: Send + Sync + 'static {
    /// Every actor, in declaration order.
    const ACTORS: &'static [ActorDef];

    /// The position of `self` in [`StoreActors::ACTORS`].
    fn index(&self) -> usize;

    /// The definition of `self`.
    fn def(&self) -> &'static ActorDef {
        &Self::ACTORS[self.index()]
    }
}

/// The actor set of a store built without actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoActors {}

impl StoreActors for NoActors {
    const ACTORS: &'static [ActorDef] = &[];

    fn index(&self) -> usize {
        match *self {}
    }
}
