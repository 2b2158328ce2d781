use igniter_store::events;

pub struct NotDeserialize;

events! {
    pub user {
        created(NotDeserialize),
    }
}

fn main() {}
