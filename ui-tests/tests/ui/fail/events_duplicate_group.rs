use igniter_store::events;

events! {
    pub user {
        group notifications {
            email(String),
        }
        created(u64),
        group notifications {
            sms(String),
        }
    }
}

fn main() {}
