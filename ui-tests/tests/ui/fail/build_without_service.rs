use igniter_store::{MemoryAdapter, Store};

fn main() {
    let _ = Store::builder().adapter(MemoryAdapter::new()).build();
}
