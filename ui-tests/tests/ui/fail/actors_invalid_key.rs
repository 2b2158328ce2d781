use igniter_store::StoreActors;

#[derive(StoreActors)]
enum Actor {
    #[actor(key = "kv")]
    User,
    #[actor(key = "igniter")]
    Service,
    #[actor(key = "a:b")]
    Worker,
}

fn main() {}
