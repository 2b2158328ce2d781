use igniter_store::events;

events! {
    pub user {
        created(u64, String),
    }
}

fn main() {}
