use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing", prefix = "x", rename = "b")]
enum Billing {
    #[store(rename = "paid", key = "k")]
    Charged(u64),
    #[store(rename = "a", rename = "b", group = "g", group = "h")]
    Refund(u64),
    #[store(namespace = "other")]
    Failed(u64),
    #[store(rename = paid)]
    Paid(u64),
}

fn main() {}
