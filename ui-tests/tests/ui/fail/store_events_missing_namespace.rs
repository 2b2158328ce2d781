use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(rename_all = "snake_case")]
enum Billing {
    Charged(u64),
}

fn main() {
    let _ = Billing::CHARGED;
}
