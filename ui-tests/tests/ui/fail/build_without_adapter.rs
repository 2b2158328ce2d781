use igniter_store::Store;

fn main() {
    let _ = Store::builder().service("api").build();
}
