use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing", rename_all = "snake")]
enum Billing {
    Charged(u64),
}

#[derive(StoreEvents)]
#[store(namespace = "refunds", rename_all = "camelCase", rename_all = "kebab-case")]
enum Refunds {
    Issued(u64),
}

fn main() {}
