use igniter_store::events;

events! {
    pub user {
        passwordReset(u64),
        password_reset(u64),
        registry(u64),
        notificationsEmail(String),
        group notifications {
            email(String),
        }
        // The variant would be `1`.
        _1(u64),
        // The module would shadow the enum `user::Event`.
        group Event {
            happened(u64),
        }
    }
}

fn main() {}
