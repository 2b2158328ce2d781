//! Identifiers built to escape their tenant, on every adapter: through keys,
//! SCAN MATCH patterns, purge and PSUBSCRIBE patterns.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};

use super::cases::H;
use super::{Billing, Charge, Tenant, store};

/// Identifiers that would reach other tenants if they were not escaped.
pub const HOSTILE: &[&str] = &[
    "a:kv:x",
    "*",
    "[a-z]",
    "\\",
    "{x}",
    "a*",
    "?",
    "kv",
    "b:organization:a",
    "%3A",
    "",
];

/// Plain identifiers they could reach.
pub const VICTIMS: &[&str] = &["a", "b", "ab", "x", "k"];

pub async fn hostile_identifiers_reach_no_other_tenant(h: H) {
    let root = store(h).await;
    for victim in VICTIMS {
        let v = root.scope(Tenant::Organization, victim).unwrap();
        v.kv().set("x", &"secret").await.unwrap();
        v.kv().set("kv:x", &"secret").await.unwrap();
        v.counter().increment("c").await.unwrap();
    }
    for hostile in HOSTILE.iter().filter(|h| !h.is_empty()) {
        let attacker = root.scope(Tenant::Organization, hostile).unwrap();
        for key in ["x", "kv:x", "c"] {
            assert_eq!(
                attacker.kv().get::<String>(key).await.unwrap(),
                None,
                "{hostile} {key}"
            );
        }
        assert_eq!(attacker.counter().get("c").await.unwrap(), 0, "{hostile}");
        for pattern in ["*", "?", "[a-z]*", "kv:*", "\\*"] {
            let keys: Vec<String> = attacker
                .dev()
                .scan_all(pattern)
                .try_collect()
                .await
                .unwrap();
            assert!(keys.is_empty(), "{hostile} scanned {pattern}: {keys:?}");
        }
        assert_eq!(
            attacker.purge().await.unwrap(),
            0,
            "{hostile} purged another tenant"
        );
        // a sub-scope under the hostile identifier is no way out either
        let deeper = attacker.scope(Tenant::Workspace, "kv").unwrap();
        assert_eq!(deeper.kv().get::<String>("x").await.unwrap(), None);
    }
    for victim in VICTIMS {
        let v = root.scope(Tenant::Organization, victim).unwrap();
        assert_eq!(
            v.kv().get::<String>("x").await.unwrap().as_deref(),
            Some("secret")
        );
        assert_eq!(v.counter().get("c").await.unwrap(), 1);
        v.purge().await.unwrap();
    }
}

pub async fn hostile_identifiers_receive_no_other_tenants_events(h: H) {
    let root = store(h).await;
    let mut listeners = Vec::new();
    for hostile in HOSTILE.iter().filter(|h| !h.is_empty()) {
        let attacker = root.scope(Tenant::Organization, hostile).unwrap();
        listeners.push((
            hostile,
            attacker.events().subscribe_all::<Billing>().await.unwrap(),
        ));
    }
    for victim in VICTIMS {
        let v = root.scope(Tenant::Organization, victim).unwrap();
        v.events()
            .publish(&Billing::CHARGED, &Charge { cents: 1 })
            .await
            .unwrap();
    }
    for (hostile, listener) in &mut listeners {
        if let Ok(Some(item)) =
            tokio::time::timeout(Duration::from_millis(100), listener.next()).await
        {
            let what = item
                .map(|ev| ev.event_type.clone())
                .unwrap_or_else(|e| e.to_string());
            panic!("tenant {hostile:?} received another tenant's event: {what}");
        }
    }
    // the control: a tenant's own pattern subscription does receive
    let own = root.scope(Tenant::Organization, "*").unwrap();
    let mut all = own.events().subscribe_all::<Billing>().await.unwrap();
    own.events()
        .publish(&Billing::CHARGED, &Charge { cents: 2 })
        .await
        .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), all.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(ev.data, Billing::Charged(Charge { cents: 2 })));
}
