use igniter_store::StoreActors;

#[derive(StoreActors)]
enum Actor {
    #[actor(key = "user")]
    Person,
    User,
    #[actor(key = "svc")]
    Service,
    #[actor(key = "svc")]
    Worker,
}

fn main() {}
