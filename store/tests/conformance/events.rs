//! The pub/sub cases of the conformance suite.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use igniter_store::adapter::TopicKind;
use igniter_store::{ErrorCode, StoreResult, events::EventContext, events::Subscription};

use super::cases::{H, org};
use super::{Actor, Billing, Charge, EmailSent, Refund, Tenant, UserCreated, store, user};

/// The next item of a subscription, failing the test after 5 s.
pub async fn next<T>(sub: &mut Subscription<T>) -> StoreResult<Arc<EventContext<T>>> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an event within 5 s")
        .expect("the subscription is still open")
}

/// Asserts that nothing arrives within a short while.
pub async fn nothing<T>(sub: &mut Subscription<T>) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(150), sub.next()).await {
        let what = match item {
            Some(Ok(ev)) => format!("an event of type {}", ev.event_type),
            Some(Err(e)) => format!("an error {}", e.code()),
            None => "the end of the stream".to_owned(),
        };
        panic!("expected nothing, got {what}");
    }
}

fn created(id: &str) -> UserCreated {
    UserCreated { id: id.into() }
}

pub async fn events_scoped_delivery(h: H) {
    let root = store(h).await;
    let a = root.scope(Tenant::Organization, "a").unwrap();
    let b = root.scope(Tenant::Organization, "b").unwrap();
    let a_ws = a.scope(Tenant::Workspace, 1).unwrap();
    let mut sub_a = a.events().subscribe(&user::CREATED).await.unwrap();
    let mut sub_b = b.events().subscribe(&user::CREATED).await.unwrap();
    let mut sub_a_ws = a_ws.events().subscribe(&user::CREATED).await.unwrap();
    let mut sub_a_email = a
        .events()
        .subscribe(&user::notifications::EMAIL)
        .await
        .unwrap();

    a.events()
        .publish(&user::CREATED, &created("u1"))
        .await
        .unwrap();
    let ev = next(&mut sub_a).await.unwrap();
    assert_eq!(ev.data, created("u1"));
    assert_eq!(ev.event_type, "user:created");
    assert_eq!(
        ev.scope
            .as_ref()
            .map(|s| (s.key.as_str(), s.identifier.as_str())),
        Some(("organization", "a"))
    );
    nothing(&mut sub_b).await;
    nothing(&mut sub_a_ws).await;
    nothing(&mut sub_a_email).await;

    a_ws.events()
        .publish(&user::CREATED, &created("u2"))
        .await
        .unwrap();
    assert_eq!(next(&mut sub_a_ws).await.unwrap().data, created("u2"));
    nothing(&mut sub_a).await;
}

pub async fn events_envelope_matches_typescript(h: H) {
    let s = org(h, "org_123")
        .await
        .scope(Tenant::Workspace, 7)
        .unwrap()
        .actor(Actor::User, "u_1")
        .unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    assert!(
        channel.ends_with(":organization:org_123:ws:7:events:user:created"),
        "{channel}"
    );
    let mut raw = s
        .adapter()
        .subscribe(TopicKind::Channel, &channel)
        .await
        .unwrap();
    s.events()
        .publish(&user::CREATED, &created("x"))
        .await
        .unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), raw.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.channel(), channel);
    let json: serde_json::Value = serde_json::from_slice(message.payload()).unwrap();
    assert_eq!(json["type"], "user:created");
    assert_eq!(json["data"], serde_json::json!({"id": "x"}));
    assert_eq!(
        json["scope"],
        serde_json::json!({"key": "ws", "identifier": "7"})
    );
    assert_eq!(
        json["scopes"],
        serde_json::json!([{"key": "organization", "identifier": "org_123"}, {"key": "ws", "identifier": "7"}])
    );
    assert_eq!(
        json["actor"],
        serde_json::json!({"key": "user", "identifier": "u_1"})
    );
    let ts = json["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(
        ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.',
        "{ts}"
    );
}

pub async fn events_fixture_decodes(h: H) {
    // What the TypeScript package publishes, byte for byte.
    let s = org(h, "org_123").await;
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let fixture = br#"{"type":"user:created","data":{"id":"u_42"},"timestamp":"2026-11-26T05:39:29.123Z","scope":{"key":"organization","identifier":"org_123"},"future":"fields are ignored"}"#;
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    s.adapter()
        .publish(&channel, fixture[..].into())
        .await
        .unwrap();
    let ev = next(&mut sub).await.unwrap();
    assert_eq!(ev.data, created("u_42"));
    assert_eq!(ev.timestamp, "2026-11-26T05:39:29.123Z");
    assert_eq!(ev.scope.as_ref().unwrap().identifier, "org_123");
    assert!(ev.actor.is_none());
}

pub async fn events_raw_payload_is_wrapped(h: H) {
    // A raw message that is the payload itself is wrapped, as the TypeScript
    // package does.
    let s = org(h, "o").await;
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    s.adapter()
        .publish(&channel, br#"{"id":"raw"}"#[..].into())
        .await
        .unwrap();
    let ev = next(&mut sub).await.unwrap();
    assert_eq!(ev.data, created("raw"));
    assert_eq!(ev.event_type, "user:created");
    assert!(ev.scope.is_none());
    assert_eq!(ev.timestamp.len(), 24);
}

pub async fn events_fanout_shares_one_subscription(h: H) {
    let s = org(h, "o").await;
    let adapter = s.adapter();
    let before = adapter.active_subscriptions();
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(s.events().subscribe(&user::CREATED).await.unwrap());
    }
    assert_eq!(
        adapter.active_subscriptions().0,
        before.0 + 1,
        "one backend subscription for three"
    );
    for i in 0..5 {
        s.events()
            .publish(&user::CREATED, &created(&i.to_string()))
            .await
            .unwrap();
    }
    let mut shared = Vec::new();
    for sub in &mut subs {
        for i in 0..5 {
            let ev = next(sub).await.unwrap();
            assert_eq!(ev.data, created(&i.to_string()));
            shared.push(ev);
        }
    }
    // decoded once: the three subscribers hold the same allocation
    assert!(Arc::ptr_eq(&shared[0], &shared[5]) && Arc::ptr_eq(&shared[0], &shared[10]));
    drop(subs);
    // The dispatcher holds a topic while it delivers a message, so the last
    // reference may go a moment after the subscribers do.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while adapter.active_subscriptions() != before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        adapter.active_subscriptions(),
        before,
        "nothing left behind"
    );
}

pub async fn events_subscribe_all_macro(h: H) {
    let s = org(h, "o").await;
    let mut all = s.events().subscribe_all::<user::Event>().await.unwrap();
    s.events()
        .publish(&user::CREATED, &created("a"))
        .await
        .unwrap();
    s.events()
        .publish(&user::notifications::EMAIL, &EmailSent { to: "x@y".into() })
        .await
        .unwrap();
    match &next(&mut all).await.unwrap().data {
        user::Event::Created(c) => assert_eq!(c, &created("a")),
        _ => panic!("expected Created"),
    }
    let ev = next(&mut all).await.unwrap();
    assert_eq!(ev.event_type, "user:notifications:email");
    match &ev.data {
        user::Event::NotificationsEmail(e) => assert_eq!(e.to, "x@y"),
        _ => panic!("expected NotificationsEmail"),
    }
    // another namespace's events are not part of it
    s.events()
        .publish(&Billing::CHARGED, &Charge { cents: 1 })
        .await
        .unwrap();
    nothing(&mut all).await;
}

pub async fn events_subscribe_all_derive(h: H) {
    let s = org(h, "o").await;
    let other = org(h, "p").await;
    let mut all = s.events().subscribe_all::<Billing>().await.unwrap();
    s.events()
        .publish(&Billing::CHARGED, &Charge { cents: 5 })
        .await
        .unwrap();
    other
        .events()
        .publish(&Billing::CHARGED, &Charge { cents: 6 })
        .await
        .unwrap();
    s.events()
        .publish(
            &Billing::REFUND,
            &Refund {
                cents: 2,
                reason: "dup".into(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        next(&mut all).await.unwrap().data,
        Billing::Charged(Charge { cents: 5 })
    ));
    let ev = next(&mut all).await.unwrap();
    assert_eq!(ev.event_type, "billing:refunds:issued");
    assert!(matches!(&ev.data, Billing::Refund(r) if r.reason == "dup"));
    nothing(&mut all).await;
}

pub async fn events_malformed_then_good(h: H) {
    let s = org(h, "o").await;
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let channel = s.events().channel_name(&user::CREATED).unwrap();
    // serde's error is the source, with the path of the field it is about;
    // the message names no value.
    for (bad, why) in [
        (&b"not json"[..], "expected ident"),
        (
            br#"{"type":"user:created","data":{"id":5},"timestamp":"t"}"#,
            "data.id: invalid type: integer `5`, expected a string",
        ),
        (
            br#"{"id":["x"]}"#,
            "id: invalid type: sequence, expected a string",
        ),
        (b"\xff\xfe", "expected value"),
    ] {
        s.adapter().publish(&channel, bad.into()).await.unwrap();
        let err = next(&mut sub).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::DeserializationFailed);
        let source = std::error::Error::source(&err).expect("serde's error is the source");
        assert!(
            source.to_string().starts_with(why),
            "{source} does not start with {why}"
        );
        assert!(!err.message().contains('5'), "{}", err.message());
    }
    s.events()
        .publish(&user::CREATED, &created("good"))
        .await
        .unwrap();
    assert_eq!(next(&mut sub).await.unwrap().data, created("good"));
}

pub async fn events_unknown_channel_in_namespace(h: H) {
    let s = org(h, "o").await;
    let mut all = s.events().subscribe_all::<Billing>().await.unwrap();
    let known = s.events().channel_name(&Billing::CHARGED).unwrap();
    let unknown = known.replace("billing:charged", "billing:unknown");
    s.adapter()
        .publish(
            &unknown,
            br#"{"type":"billing:unknown","data":{},"timestamp":"t"}"#[..].into(),
        )
        .await
        .unwrap();
    assert_eq!(
        next(&mut all).await.unwrap_err().code(),
        ErrorCode::SchemaChannelNotFound
    );
    s.events()
        .publish(&Billing::CHARGED, &Charge { cents: 1 })
        .await
        .unwrap();
    assert!(matches!(
        next(&mut all).await.unwrap().data,
        Billing::Charged(_)
    ));
}

pub async fn events_actor_in_envelope(h: H) {
    let s = org(h, "o").await;
    let mut sub = s.events().subscribe(&user::CREATED).await.unwrap();
    let as_key = s.actor(Actor::ApiKey, "key_9").unwrap();
    // actors never change keys or channels
    assert_eq!(as_key.kv().key("k").unwrap(), s.kv().key("k").unwrap());
    as_key
        .events()
        .publish(&user::CREATED, &created("a"))
        .await
        .unwrap();
    let ev = next(&mut sub).await.unwrap();
    let actor = ev.actor.as_ref().unwrap();
    assert_eq!(
        (actor.key.as_str(), actor.identifier.as_str()),
        ("apiKey", "key_9")
    );
    assert_eq!(
        s.actor(Actor::User, "").unwrap_err().code(),
        ErrorCode::ActorIdentifierRequired
    );
}

pub async fn events_need_required_scope(h: H) {
    // The typed root has no `events()`; its dynamic twin checks at run time.
    let root = store(h).await.into_dynamic();
    let err = root
        .events()
        .publish(&user::CREATED, &created("a"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScopeRequired);
    let err = root.events().subscribe(&user::CREATED).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScopeRequired);
}

pub async fn events_lagging_subscriber_is_told_what_it_lost(h: H) {
    let s = igniter_store::Store::builder()
        .shared_adapter(h.adapter_with_capacity(8).await)
        .service(super::unique_service())
        .scopes::<Tenant>()
        .build()
        .unwrap()
        .scope(Tenant::Organization, "o")
        .unwrap();
    let mut slow = s.events().subscribe(&user::CREATED).await.unwrap();
    for i in 0..20 {
        s.events()
            .publish(&user::CREATED, &created(&i.to_string()))
            .await
            .unwrap();
    }
    // Give a network backend time to deliver all twenty.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = next(&mut slow).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::SubscriberLagged);
    assert_eq!(err.details().unwrap()["lost"], 12);
    // then the 8 newest, in order
    for i in 12..20 {
        assert_eq!(next(&mut slow).await.unwrap().data.id, i.to_string());
    }
}

pub async fn events_publish_counts_backend_subscriptions(h: H) {
    let s = org(h, "o").await;
    let payload = created("x");
    assert_eq!(
        s.events().publish(&user::CREATED, &payload).await.unwrap(),
        0
    );
    let _a = s.events().subscribe(&user::CREATED).await.unwrap();
    let _b = s.events().subscribe(&user::CREATED).await.unwrap();
    let _all = s.events().subscribe_all::<user::Event>().await.unwrap();
    // one channel subscription and one pattern subscription, as Redis counts
    let receivers = s.events().publish(&user::CREATED, &payload).await.unwrap();
    if h.exact_publish_counts() {
        assert_eq!(receivers, 2);
    } else {
        // a cluster node counts the subscriptions it holds itself
        assert!((1..=2).contains(&receivers), "{receivers}");
    }
}

pub async fn events_envelope_with_bad_data_is_an_error(h: H) {
    // A payload type that would accept almost anything must still not be
    // handed the envelope itself when its data does not fit.
    let s = org(h, "o").await;
    let mut sub = s.events().subscribe(&user::LENIENT).await.unwrap();
    let channel = s.events().channel_name(&user::LENIENT).unwrap();
    let bad = br#"{"type":"user:lenient","data":{"id":5},"timestamp":"2026-11-26T05:39:29.123Z"}"#;
    s.adapter().publish(&channel, bad[..].into()).await.unwrap();
    assert_eq!(
        next(&mut sub).await.unwrap_err().code(),
        ErrorCode::DeserializationFailed
    );
}
