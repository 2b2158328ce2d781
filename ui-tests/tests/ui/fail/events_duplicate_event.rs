use igniter_store::events;

events! {
    pub user {
        created(u64),
        deleted(u64),
        created(String),
        group notifications {
            email(String),
            email(String),
        }
    }
}

// Only the macro's own errors: the namespace's items are still generated, so
// uses of them add no "cannot find" errors.
fn main() {
    let _ = user::CREATED;
    let _ = user::notifications::EMAIL;
    let _ = user::REGISTRY;
}
