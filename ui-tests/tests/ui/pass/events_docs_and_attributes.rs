// Doc comments and attributes of events reach their constants: this crate
// denies missing docs and warnings, so an undocumented generated item or a
// stray warning fails the case.
#![deny(missing_docs, warnings)]
//! Events with docs and attributes.

use igniter_store::events;
use serde::Deserialize;

/// A user signed up.
#[derive(Deserialize)]
pub struct UserCreated;

events! {
    /// Users.
    pub user {
        /// A user signed up.
        created(UserCreated),
        // No doc: the generated documentation names the channel.
        deleted(UserCreated),
        /// Superseded by `created`.
        #[deprecated = "publish user:created"]
        registered(UserCreated),
        #[allow(non_snake_case)]
        /// A group's attributes go to its module.
        group Notifications {
            email(String),
        }
    }
    // Without docs at all.
    pub session { opened(u64) }
}

fn main() {
    assert_eq!(user::CREATED.name(), "user:created");
    assert_eq!(user::Notifications::EMAIL.name(), "user:Notifications:email");
    #[allow(deprecated)]
    let registered = user::REGISTERED;
    assert_eq!(registered.name(), "user:registered");
    assert_eq!(user::REGISTRY.channels().len(), 4);
    assert_eq!(session::REGISTRY.channels().len(), 1);
}
