//! What `build()` refuses, with its codes. (A missing adapter or service is a
//! compile error: see `ui-tests/tests/ui/fail/build_without_*.rs`.)

use std::time::Duration;

use igniter_store::{
    ErrorCode, MemoryAdapter, Store, StoreActors, StoreScopes, actor::ActorDef, scope::AllRequired,
    scope::NoScopes, scope::ScopeDef, scope::ScopePosition,
};

fn code<T: std::fmt::Debug>(r: Result<T, igniter_store::StoreError>) -> ErrorCode {
    r.unwrap_err().code()
}

#[test]
fn service_names_follow_the_rules() {
    let build = |service: &str| {
        Store::builder()
            .adapter(MemoryAdapter::new())
            .service(service)
            .build()
    };
    assert_eq!(code(build("")), ErrorCode::ServiceRequired);
    for bad in ["a:b", "a*", "a?", "a[b]", "a\\b", "{a}", "a b", "a.b"] {
        assert_eq!(code(build(bad)), ErrorCode::ConfigurationInvalid, "{bad:?}");
    }
    for good in ["api", "my-api", "billing_v2", "igniter"] {
        assert!(build(good).is_ok(), "{good:?}");
    }
}

#[test]
fn prefixes_and_timeouts_are_checked() {
    let with_prefix = |prefix: &str| {
        Store::builder()
            .adapter(MemoryAdapter::new())
            .service("api")
            .prefix(prefix)
            .build()
    };
    for bad in ["", "a::b", "a:*", ":a", "a:"] {
        assert_eq!(
            code(with_prefix(bad)),
            ErrorCode::ConfigurationInvalid,
            "{bad:?}"
        );
    }
    let store = with_prefix("acme:cache").unwrap();
    assert_eq!(store.kv().key("k").unwrap(), "acme:cache:api:kv:k");
    let zero = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("api")
        .timeout(Duration::ZERO)
        .build();
    assert_eq!(code(zero), ErrorCode::ConfigurationInvalid);
}

/// Issue 13, item 8: a custom prefix must not place a store inside another
/// store's key space, nor hold other stores in its own, at least for the
/// default layout `igniter:store:<service>:`.
#[test]
fn a_prefix_cannot_alias_another_stores_keys() {
    let build = |prefix: &str, service: &str| {
        Store::builder()
            .adapter(MemoryAdapter::new())
            .service(service)
            .prefix(prefix)
            .build()
    };
    for (prefix, service) in [
        // service `api` inside service `billing`'s keys: `billing`'s root
        // purge would delete them
        ("igniter:store:billing", "api"),
        // reads tenant `acme` of `billing`
        ("igniter:store:billing:organization", "acme"),
        // deeper, or a service that exists only under this layout
        ("igniter:store:x:y:z", "api"),
        // a key space holding every store of the default layout
        ("igniter", "store"),
    ] {
        let err = build(prefix, service).unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ConfigurationInvalid,
            "{prefix:?} + {service:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(prefix) && message.contains("default layout"),
            "the message says what is wrong: {message}"
        );
    }
    for (prefix, service, key) in [
        ("igniter:store", "billing", "igniter:store:billing:kv:k"),
        ("igniter:store", "igniter", "igniter:store:igniter:kv:k"),
        ("acme:store", "billing", "acme:store:billing:kv:k"),
        ("acme:store", "store", "acme:store:store:kv:k"),
        ("igniter", "storex", "igniter:storex:kv:k"),
        ("igniter", "api", "igniter:api:kv:k"),
        ("igniter:stores", "api", "igniter:stores:api:kv:k"),
        // Redis keys are case-sensitive: another key space
        (
            "Igniter:store:billing",
            "api",
            "Igniter:store:billing:api:kv:k",
        ),
    ] {
        let store = build(prefix, service)
            .unwrap_or_else(|e| panic!("{prefix:?} + {service:?} is allowed: {e}"));
        assert_eq!(store.kv().key("k").unwrap(), key);
    }
    // the default prefix, with any service
    let store = Store::builder()
        .adapter(MemoryAdapter::new())
        .service("billing")
        .build()
        .unwrap();
    assert_eq!(store.kv().key("k").unwrap(), "igniter:store:billing:kv:k");
}

struct Twice;
impl StoreScopes for Twice {
    const SCOPES: &'static [ScopeDef] = &[ScopeDef::new("org", false), ScopeDef::new("org", true)];
    fn index(&self) -> usize {
        0
    }
}

struct Colon;
impl StoreScopes for Colon {
    const SCOPES: &'static [ScopeDef] = &[ScopeDef::new("a:b", false)];
    fn index(&self) -> usize {
        0
    }
}

struct Word;
impl StoreScopes for Word {
    const SCOPES: &'static [ScopeDef] = &[ScopeDef::new("kv", false)];
    fn index(&self) -> usize {
        0
    }
}

struct Empty;
impl StoreScopes for Empty {
    const SCOPES: &'static [ScopeDef] = &[ScopeDef::new("", false)];
    fn index(&self) -> usize {
        0
    }
}

/// `scopes::<S>()` takes a set that is also the position of its root
/// (`ScopePosition`, which the derive writes): a hand-written set writes it
/// too, with no typed path (its required scopes are checked at run time).
macro_rules! root_position {
    ($($set:ident),*) => {$(
        impl ScopePosition for $set {
            type Scopes = $set;
            type Missing = AllRequired;
        }
    )*};
}
root_position!(Twice, Colon, Word, Empty);

struct Actors;
impl StoreActors for Actors {
    const ACTORS: &'static [ActorDef] = &[ActorDef::new("user"), ActorDef::new("user")];
    fn index(&self) -> usize {
        0
    }
}

struct BadActor;
impl StoreActors for BadActor {
    const ACTORS: &'static [ActorDef] = &[ActorDef::new("__system")];
    fn index(&self) -> usize {
        0
    }
}

#[test]
fn hand_written_scope_and_actor_sets_follow_the_derive_rules() {
    let base = || {
        Store::builder()
            .adapter(MemoryAdapter::new())
            .service("api")
    };
    assert_eq!(
        code(base().scopes::<Twice>().build()),
        ErrorCode::DuplicateScope
    );
    assert_eq!(
        code(base().scopes::<Colon>().build()),
        ErrorCode::InvalidScopeKey
    );
    assert_eq!(
        code(base().scopes::<Word>().build()),
        ErrorCode::InvalidScopeKey
    );
    assert_eq!(
        code(base().scopes::<Empty>().build()),
        ErrorCode::ScopeKeyRequired
    );
    assert_eq!(
        code(base().actors::<Actors>().build()),
        ErrorCode::DuplicateActor
    );
    assert_eq!(
        code(base().actors::<BadActor>().build()),
        ErrorCode::InvalidActorKey
    );
    assert!(base().scopes::<NoScopes>().build().is_ok());
}

#[test]
fn every_code_is_a_stable_store_string() {
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
        let s = code.as_str();
        assert!(s.starts_with("STORE_") && s == s.to_uppercase(), "{s}");
        assert!(seen.insert(s), "{s} twice");
    }
    // the TypeScript package's strings, where it has the failure
    assert_eq!(
        ErrorCode::InvalidScopeKey.as_str(),
        "STORE_INVALID_SCOPE_KEY"
    );
    assert_eq!(
        ErrorCode::SchemaValidationFailed.as_str(),
        "STORE_SCHEMA_VALIDATION_FAILED"
    );
    assert_eq!(
        ErrorCode::DuplicateNamespace.as_str(),
        "STORE_DUPLICATE_NAMESPACE"
    );
}
