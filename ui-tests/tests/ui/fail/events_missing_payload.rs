use igniter_store::events;

events! {
    pub user {
        created,
    }
}

fn main() {}
