use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
enum Billing {
    #[store(rename = "charged")]
    Paid(u64),
    Charged(u64),
    #[store(group = "refunds", rename = "issued")]
    Refund(u64),
    #[store(group = "refunds")]
    Issued(u64),
    // An event named like a group.
    Refunds(u64),
}

// Only the derive's own errors: the enum still has its constants and the
// trait, so uses of them add no errors.
fn main() {
    let _ = Billing::CHARGED;
    let _ = Billing::REGISTRY;
    let _ = <Billing as StoreEvents>::REGISTRY;
}
