use igniter_store::StoreEvents;

#[derive(StoreEvents)]
#[store(namespace = "billing")]
struct Billing {
    charged: u64,
}

fn main() {}
