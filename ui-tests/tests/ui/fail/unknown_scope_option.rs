use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(rename = "org", required)]
    Organization,
    #[scope(key = "ws", key = "workspace")]
    Workspace,
}

fn main() {}
