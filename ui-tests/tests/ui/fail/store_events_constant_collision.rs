use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
#[allow(non_camel_case_types)]
enum Billing {
    Registry(u64),
    #[store(rename = "paid")]
    ChargedNow(u64),
    Charged_Now(u64),
}

fn main() {}
