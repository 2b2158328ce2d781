use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
enum Billing {
    Charged(u64),
    Refunded,
    Failed(),
}

fn main() {}
