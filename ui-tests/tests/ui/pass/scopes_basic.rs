use igniter_store::{scope::ScopeDef, StoreScopes};

#[derive(StoreScopes, Clone, Copy, Debug)]
enum Tenant {
    #[scope(required)]
    Organization,
    #[scope(key = "ws")]
    Workspace,
    #[scope(key = "team", required)]
    Team,
    ApiKey,
    // "ignore" starts like "ign" but is not reserved.
    Ignore,
}

fn main() {
    assert_eq!(
        <Tenant as StoreScopes>::SCOPES,
        &[
            ScopeDef::new("organization", true),
            ScopeDef::new("ws", false),
            ScopeDef::new("team", true),
            ScopeDef::new("api_key", false),
            ScopeDef::new("ignore", false),
        ]
    );
    let all = [
        Tenant::Organization,
        Tenant::Workspace,
        Tenant::Team,
        Tenant::ApiKey,
        Tenant::Ignore,
    ];
    for (i, scope) in all.iter().enumerate() {
        assert_eq!(scope.index(), i, "{scope:?}");
    }
    assert_eq!(Tenant::ApiKey.def().key(), "api_key");
}
