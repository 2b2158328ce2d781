use igniter_store::events;

events! {
    pub user {
        created(u64),
        group notifications {}
    }
    pub billing {}
}

fn main() {}
