use igniter_store::events;

events! {
    pub user { created(u64) }
    pub billing { charged(u64) }
    pub(crate) user { deleted(u64) }
}

fn main() {}
