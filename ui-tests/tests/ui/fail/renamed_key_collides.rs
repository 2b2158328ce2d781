use igniter_store::StoreScopes;

#[derive(StoreScopes)]
enum Tenant {
    #[scope(key = "workspace")]
    Ws,
    Workspace,
}

fn main() {}
