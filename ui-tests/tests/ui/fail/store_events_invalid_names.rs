use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "bill ing")]
enum Billing {
    #[store(rename = "charged:now")]
    Charged(u64),
    #[store(rename = "refund.issued")]
    Refund(u64),
    #[store(rename = "failed payment")]
    Failed(u64),
    #[store(rename = "any*")]
    Any(u64),
    #[store(group = "refunds:partial")]
    Partial(u64),
    #[store(group = "{slot}")]
    Slot(u64),
}

fn main() {}
