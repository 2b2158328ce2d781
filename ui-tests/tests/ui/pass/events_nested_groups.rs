use igniter_store::{events::ChannelDef, StoreEvents, events};
use serde::Deserialize;

#[derive(Deserialize, Debug, PartialEq)]
pub struct UserCreated {
    pub id: u64,
}

#[derive(Deserialize)]
pub struct EmailSent;

// Payloads need not be Debug, Clone or PartialEq: the generated enum derives
// nothing.
#[derive(Deserialize)]
pub struct Digest;

pub mod types {
    #[derive(serde::Deserialize)]
    pub struct UserDeleted;
}

events! {
    /// Users and what happens to them.
    pub user {
        /// A user signed up.
        created(UserCreated),
        deleted(crate::types::UserDeleted),
        // Written relative to this module, however deep the event sits.
        passwordReset(self::types::UserDeleted),
        r#type(()),
        #[cfg(any())]
        compiled_out(NoSuchType),
        group notifications {
            email(EmailSent),
            group digest {
                weekly(Vec<Digest>),
                monthly(self::types::UserDeleted),
            }
        },
    }
    pub(crate) billing { charged(u64) }
    // Starts like the reserved `ign` but is not reserved.
    pub ignore { it(String) }
}

fn main() {
    assert_eq!(user::CREATED.name(), "user:created");
    assert_eq!(user::CREATED.namespace(), "user");
    assert_eq!(user::PASSWORD_RESET.name(), "user:passwordReset");
    assert_eq!(user::TYPE.name(), "user:type");
    assert_eq!(user::notifications::EMAIL.name(), "user:notifications:email");
    assert_eq!(
        user::notifications::digest::WEEKLY.name(),
        "user:notifications:digest:weekly"
    );
    assert_eq!(billing::CHARGED.name(), "billing:charged");
    assert_eq!(ignore::IT.name(), "ignore:it");

    assert_eq!(user::REGISTRY.namespace(), "user");
    assert_eq!(
        user::REGISTRY.channels(),
        &[
            ChannelDef::new("user:created", "UserCreated"),
            ChannelDef::new("user:deleted", "crate::types::UserDeleted"),
            ChannelDef::new("user:passwordReset", "self::types::UserDeleted"),
            ChannelDef::new("user:type", "()"),
            ChannelDef::new("user:notifications:email", "EmailSent"),
            ChannelDef::new("user:notifications:digest:weekly", "Vec<Digest>"),
            ChannelDef::new(
                "user:notifications:digest:monthly",
                "self::types::UserDeleted"
            ),
        ]
    );
    assert_eq!(<user::Event as StoreEvents>::REGISTRY, user::REGISTRY);

    // One variant per event, named after its groups and its name.
    let all = [
        user::Event::Created(UserCreated { id: 1 }),
        user::Event::Deleted(types::UserDeleted),
        user::Event::PasswordReset(types::UserDeleted),
        user::Event::Type(()),
        user::Event::NotificationsEmail(EmailSent),
        user::Event::NotificationsDigestWeekly(vec![Digest]),
        user::Event::NotificationsDigestMonthly(types::UserDeleted),
    ];
    let names: Vec<&str> = all.iter().map(|event| event.event_name()).collect();
    let registered: Vec<&str> = user::REGISTRY.channels().iter().map(|c| c.name()).collect();
    assert_eq!(names, registered);

    let raw = serde_json::value::RawValue::from_string(r#"{"id":7}"#.to_owned()).unwrap();
    match user::Event::decode_event("user:created", &raw) {
        Some(Ok(user::Event::Created(created))) => assert_eq!(created, UserCreated { id: 7 }),
        _ => panic!("user:created decodes as Event::Created"),
    }
    let null = serde_json::value::RawValue::from_string("null".to_owned()).unwrap();
    assert!(matches!(
        user::Event::decode_event("user:notifications:email", &null),
        Some(Ok(user::Event::NotificationsEmail(EmailSent)))
    ));
    // Not an event of the namespace; a payload of the wrong shape.
    assert!(user::Event::decode_event("user:nope", &raw).is_none());
    assert!(user::Event::decode_event("billing:charged", &raw).is_none());
    assert!(matches!(
        user::Event::decode_event("user:type", &raw),
        Some(Err(_))
    ));
}
