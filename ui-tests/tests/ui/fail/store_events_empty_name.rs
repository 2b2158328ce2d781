use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "")]
enum Billing {
    #[store(rename = "")]
    Charged(u64),
    #[store(group = "")]
    Refund(u64),
}

fn main() {}
