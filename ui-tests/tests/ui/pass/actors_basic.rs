use igniter_store::{actor::ActorDef, StoreActors};

#[derive(StoreActors, Clone, Copy, Debug)]
enum Actor {
    User,
    #[actor(key = "svc")]
    Service,
    ApiClient,
    // "ignore" starts like "ign" but is not reserved.
    Ignore,
}

fn main() {
    assert_eq!(
        <Actor as StoreActors>::ACTORS,
        &[
            ActorDef::new("user"),
            ActorDef::new("svc"),
            ActorDef::new("api_client"),
            ActorDef::new("ignore"),
        ]
    );
    let all = [Actor::User, Actor::Service, Actor::ApiClient, Actor::Ignore];
    for (i, actor) in all.iter().enumerate() {
        assert_eq!(actor.index(), i, "{actor:?}");
    }
    assert_eq!(Actor::Service.def().key(), "svc");
}
