use igniter_store::StoreActors;

#[derive(StoreActors)]
enum Actor {
    // Only scopes can be required.
    #[actor(required)]
    User,
    #[actor(rename = "svc")]
    Service,
}

fn main() {}
