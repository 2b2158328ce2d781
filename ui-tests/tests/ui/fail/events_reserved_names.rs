use igniter_store::events;

events! {
    pub user {
        __x(u64),
        igniter(u64),
        group ign_internal {
            created(u64),
        }
    }
}

fn main() {}
