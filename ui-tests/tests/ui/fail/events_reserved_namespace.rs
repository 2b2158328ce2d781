use igniter_store::events;

events! {
    pub igniter { created(u64) }
    pub __internal { created(u64) }
    pub IGN { created(u64) }
}

fn main() {}
