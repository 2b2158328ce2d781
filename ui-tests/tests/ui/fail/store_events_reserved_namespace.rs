use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "igniter")]
enum Internal {
    Created(u64),
}

#[derive(StoreEvents)]
#[store(namespace = "__internal")]
enum Dunder {
    Created(u64),
    #[store(group = "ign-x")]
    Grouped(u64),
    // The derived name `__secret` is reserved too.
    __Secret(u64),
}

fn main() {}
