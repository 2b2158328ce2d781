use igniter_store::events;

events! {
    pub user {
        notifications(String),
        group notifications {
            email(String),
        }
        group digest {
            weekly(u64),
        }
        digest(u64),
    }
}

fn main() {}
