// Payload types are written as at the call site, whatever the generated
// modules declare: an `Event` type or a `billing` module of the caller's is
// not shadowed by the generated `user::Event` or group `user::billing`.
use igniter_store::{Channel, events};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Event {
    pub id: u64,
}

pub mod billing {
    #[derive(serde::Deserialize)]
    pub struct Charge;
}

events! {
    pub user {
        created(Event),
        group billing {
            charged(billing::Charge),
            group refunds {
                issued(Vec<billing::Charge>),
                again(Option<Event>),
            }
        }
    }
}

mod outer {
    use igniter_store::{Channel, events};

    pub mod types {
        #[derive(serde::Deserialize)]
        pub struct Deep;
    }

    events! {
        pub inner {
            group a {
                group b {
                    by_self(self::types::Deep),
                    by_super(super::outer::types::Deep),
                    by_crate(crate::outer::types::Deep),
                    by_use(types::Deep),
                }
            }
        }
    }

    pub fn check() {
        let _: Channel<types::Deep> = inner::a::b::BY_SELF;
        let _: Channel<types::Deep> = inner::a::b::BY_SUPER;
        let _: Channel<types::Deep> = inner::a::b::BY_CRATE;
        let _: Channel<types::Deep> = inner::a::b::BY_USE;
        let _ = inner::Event::ABBySelf(types::Deep);
    }
}

fn main() {
    let _: Channel<crate::Event> = user::CREATED;
    let _: Channel<crate::billing::Charge> = user::billing::CHARGED;
    let _: Channel<Vec<crate::billing::Charge>> = user::billing::refunds::ISSUED;
    let _: Channel<Option<crate::Event>> = user::billing::refunds::AGAIN;
    let _ = user::Event::Created(Event { id: 1 });
    let _ = user::Event::BillingCharged(billing::Charge);
    outer::check();
    assert_eq!(
        user::billing::refunds::ISSUED.name(),
        "user:billing:refunds:issued"
    );
}
