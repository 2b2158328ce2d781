use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
enum Billing {
    Charged(u64, String),
    Refunded { amount: u64 },
}

fn main() {}
