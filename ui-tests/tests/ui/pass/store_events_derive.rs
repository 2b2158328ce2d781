use igniter_store::{events::ChannelDef, StoreEvents};
use serde::Deserialize;

#[derive(Deserialize, Debug, PartialEq)]
pub struct Charge {
    pub cents: u64,
}

#[derive(Deserialize, Debug, PartialEq)]
pub struct Refund {
    pub reason: String,
}

// No serde derive on the enum itself.
#[derive(StoreEvents, Debug, PartialEq)]
#[store(namespace = "billing")]
enum Billing {
    /// A card was charged.
    Charged(Charge),
    #[store(group = "refunds", rename = "issued")]
    Refund(Refund),
    #[store(group = "refunds")]
    RefundDenied(String),
    PaymentFailed(()),
}

#[derive(StoreEvents, Debug, PartialEq)]
#[store(namespace = "ignore", rename_all = "camelCase")]
enum Camel {
    PasswordReset(u64),
    #[store(rename = "HTTP-ok")]
    HttpOk(u64),
}

#[derive(StoreEvents, Debug)]
#[store(namespace = "k", rename_all = "kebab-case")]
enum Kebab {
    PasswordReset(u64),
}

#[derive(StoreEvents, Debug)]
#[store(namespace = "s", rename_all = "SCREAMING_SNAKE_CASE")]
enum Screaming {
    PasswordReset(u64),
}

#[derive(StoreEvents, Debug)]
#[store(namespace = "p", rename_all = "PascalCase")]
enum Pascal {
    HTTPServer(u64),
}

#[derive(StoreEvents, Debug)]
#[store(namespace = "l", rename_all = "lowercase")]
enum Lower {
    PasswordReset(u64),
}

fn raw(json: &str) -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(json.to_owned()).unwrap()
}

fn main() {
    assert_eq!(Billing::CHARGED.name(), "billing:charged");
    assert_eq!(Billing::REFUND.name(), "billing:refunds:issued");
    assert_eq!(Billing::REFUND_DENIED.name(), "billing:refunds:refund_denied");
    assert_eq!(Billing::PAYMENT_FAILED.name(), "billing:payment_failed");
    assert_eq!(Billing::REGISTRY.namespace(), "billing");
    assert_eq!(
        Billing::REGISTRY.channels(),
        &[
            ChannelDef::new("billing:charged", "Charge"),
            ChannelDef::new("billing:refunds:issued", "Refund"),
            ChannelDef::new("billing:refunds:refund_denied", "String"),
            ChannelDef::new("billing:payment_failed", "()"),
        ]
    );
    assert_eq!(<Billing as StoreEvents>::REGISTRY, Billing::REGISTRY);

    let refund = <Billing as StoreEvents>::decode_event(
        "billing:refunds:issued",
        &raw(r#"{"reason":"damaged"}"#),
    );
    let refund = match refund {
        Some(Ok(refund)) => refund,
        _ => panic!("billing:refunds:issued decodes"),
    };
    assert_eq!(
        refund,
        Billing::Refund(Refund {
            reason: "damaged".into()
        })
    );
    assert_eq!(refund.event_name(), "billing:refunds:issued");
    assert!(matches!(
        Billing::decode_event("billing:charged", &raw(r#"{"cents":250}"#)),
        Some(Ok(Billing::Charged(Charge { cents: 250 })))
    ));
    assert!(matches!(
        Billing::decode_event("billing:payment_failed", &raw("null")),
        Some(Ok(Billing::PaymentFailed(())))
    ));
    // Unknown event; the variant's Rust name is not an event name.
    assert!(Billing::decode_event("billing:refund", &raw("{}")).is_none());
    assert!(Billing::decode_event("billing:charged", &raw(r#"{"cents":"x"}"#)).unwrap().is_err());

    assert_eq!(Camel::PASSWORD_RESET.name(), "ignore:passwordReset");
    assert_eq!(Camel::HTTP_OK.name(), "ignore:HTTP-ok");
    assert_eq!(Kebab::PASSWORD_RESET.name(), "k:password-reset");
    assert_eq!(Screaming::PASSWORD_RESET.name(), "s:PASSWORD_RESET");
    assert_eq!(Pascal::HTTP_SERVER.name(), "p:HttpServer");
    assert_eq!(Lower::PASSWORD_RESET.name(), "l:passwordreset");
    assert_eq!(Camel::PasswordReset(1).event_name(), "ignore:passwordReset");
}
