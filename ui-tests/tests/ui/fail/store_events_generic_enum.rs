use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
enum Billing<T> {
    Charged(T),
}

fn main() {}
