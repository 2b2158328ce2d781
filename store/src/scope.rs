//! Tenant scopes: the [`StoreScopes`] trait the derive implements, and the
//! chain of scopes a store handle carries.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::key::KeySpace;

/// One declared scope: its key segment and whether every operation needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeDef {
    key: &'static str,
    required: bool,
}

impl ScopeDef {
    /// A scope whose key segment is `key`.
    pub const fn new(key: &'static str, required: bool) -> Self {
        ScopeDef { key, required }
    }

    /// The key segment, e.g. `"organization"`.
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// Whether an operation on a store whose chain lacks this scope fails with
    /// [`ErrorCode::ScopeRequired`].
    pub const fn required(&self) -> bool {
        self.required
    }
}

/// The set of scopes a store accepts, usually derived. The declared order
/// is the tenant hierarchy: a chain lists scopes in that order, each at most
/// once, may skip optional scopes and skips no required one.
///
/// ```
/// use igniter_store::StoreScopes;
///
/// #[derive(StoreScopes, Clone, Copy, Debug)]
/// enum Tenant {
///     #[scope(required)]
///     Organization,          // key segment "organization"
///     #[scope(key = "ws")]
///     Workspace,             // key segment "ws"
/// }
///
/// assert_eq!(Tenant::Workspace.def().key(), "ws");
/// assert!(Tenant::Organization.def().required());
/// ```
///
/// Besides this trait, the derive writes the typed path: a module named
/// after the enum in snake case (`tenant` for `Tenant`) with one unit struct
/// per scope (`tenant::Organization`, `tenant::Workspace`), which
/// [`Store::scope`](crate::Store::scope) accepts in declaration order only,
/// and the [`ScopePosition`] and [`NextScope`] impls that let the compiler
/// check a chain. The markers have the enum's visibility.
///
/// The derive checks every key at compile time with the rules of
/// `igniter-store-names`; a hand-written implementation is checked by the same
/// rules when the store is built. A hand-written set also implements
/// [`ScopePosition`] for itself (its root: `type Scopes = Self`), which
/// [`StoreBuilder::scopes`](crate::StoreBuilder::scopes) requires, and
/// [`NextScope`] for each position its values may follow (at least
/// `NextScope<Self>` and `NextScope<Dynamic<Self>>`, with `type Next =
/// Dynamic<Self>`) to be passed to `scope()`; without markers it has no
/// typed path.
pub trait StoreScopes: Send + Sync + 'static {
    /// Every scope, in declaration order. At most 64.
    const SCOPES: &'static [ScopeDef];

    /// The position of `self` in [`StoreScopes::SCOPES`].
    fn index(&self) -> usize;

    /// The definition of `self`.
    fn def(&self) -> &'static ScopeDef {
        &Self::SCOPES[self.index()]
    }
}

/// Where a handle stands in its scope set's hierarchy: the `S` of
/// [`Store<S>`](crate::Store). Implemented by the derive for the enum itself
/// (the root, no scope yet) and for each typed scope marker
/// (`tenant::Workspace`: the chain ends with that scope), and here for
/// [`Dynamic`] (a chain built from values known only at run time) and
/// [`NoScopes`].
pub trait ScopePosition: Send + Sync + 'static {
    /// The scope set.
    type Scopes: StoreScopes;
    /// The first required scope a handle at this position lacks (a typed
    /// marker), or [`AllRequired`] when it lacks none. Data operations exist
    /// only where this is [`AllRequired`].
    type Missing;
}

/// A scope [`Store::scope`](crate::Store::scope) accepts on a handle at
/// position `P`, and the position of the handle it returns.
///
/// A typed marker (`tenant::Workspace`) implements it only after the
/// positions it may follow: an earlier scope, with no required scope in
/// between. A scope value (`Tenant::Workspace`) implements it after every
/// position of its set and leads to [`Dynamic`], whose order is checked at
/// run time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot come after `{P}` in this scope chain",
    label = "not allowed after `{P}`",
    note = "a chain lists the scopes of its `#[derive(StoreScopes)]` enum in declaration order, each at most once, and skips no `#[scope(required)]` scope; `{P}` names where the chain stands: its last typed scope, or the enum itself at the root",
    note = "a typed scope of another enum belongs to another store; and where the chain was built from scope values (`Dynamic<..>`), only scope values follow"
)]
pub trait NextScope<P> {
    /// The position of the handle once this scope is added.
    type Next: ScopePosition;

    /// The scope's index in its set's [`StoreScopes::SCOPES`].
    fn scope_index(&self) -> usize;
}

/// The [`ScopePosition::Missing`] of a position that lacks no required scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllRequired {}

/// Holds for [`AllRequired`] only: the bound data operations put on a
/// handle's [`ScopePosition::Missing`], so that a handle lacking a required
/// scope has none, and the compiler names the scope it lacks.
#[diagnostic::on_unimplemented(
    message = "this handle lacks the required scope `{Self}`",
    label = "needs `{Self}` in its scope chain",
    note = "add the scope `{Self}` first, in declaration order, with its marker from the module the derive writes: `.scope(tenant::Organization, id)?` for the `Organization` of an `enum Tenant`"
)]
pub trait NoneMissing {}

impl NoneMissing for AllRequired {}

/// A position that lacks no required scope: where every data operation
/// exists. Bound a function on it to take any such handle, whatever its
/// depth:
///
/// ```
/// use igniter_store::scope::Complete;
/// use igniter_store::{MemoryAdapter, Store, StoreResult, StoreScopes};
///
/// #[derive(StoreScopes, Clone, Copy, Debug)]
/// enum Tenant { #[scope(required)] Organization, Workspace }
///
/// /// Works on an organization, one of its workspaces, or a dynamic handle.
/// async fn remember<S: Complete>(handle: &Store<S>, note: &str) -> StoreResult<()> {
///     handle.kv().set("last-note", &note).await
/// }
///
/// # async fn run() -> StoreResult<()> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").scopes::<Tenant>().build()?;
/// let org = store.scope(tenant::Organization, "acme")?;
/// remember(&org, "hello").await?;
/// remember(&org.scope(tenant::Workspace, 7)?, "hello").await?;
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
pub trait Complete: ScopePosition<Missing = AllRequired> {}

impl<S: ScopePosition<Missing = AllRequired>> Complete for S {}

/// The position of a handle whose chain was built from scope values
/// (`store.scope(Tenant::Workspace, id)`): its order was checked when each
/// scope was added, and its required scopes are checked by each operation
/// (`STORE_SCOPE_REQUIRED`), since the compiler cannot.
pub struct Dynamic<S>(PhantomData<fn() -> S>, Never);

#[derive(Debug, Clone, Copy)]
enum Never {}

impl<S> fmt::Debug for Dynamic<S> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {}
    }
}

impl<S: StoreScopes> ScopePosition for Dynamic<S> {
    type Scopes = S;
    type Missing = AllRequired;
}

/// The scope set of a store built without `.scopes::<S>()`: it has no scope,
/// so `scope()` cannot be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoScopes {}

impl StoreScopes for NoScopes {
    const SCOPES: &'static [ScopeDef] = &[];

    fn index(&self) -> usize {
        match *self {}
    }
}

impl ScopePosition for NoScopes {
    type Scopes = NoScopes;
    type Missing = AllRequired;
}

/// Checks a scope set once, when the store is built: every key follows the
/// name rules and no key is declared twice. Returns the bit mask of the
/// required scopes.
pub(crate) fn validate_scopes(scopes: &[ScopeDef]) -> StoreResult<u64> {
    if scopes.len() > 64 {
        return Err(StoreError::new(
            ErrorCode::ScopeInvalid,
            "a scope set holds at most 64 scopes",
        ));
    }
    let mut required = 0u64;
    for (i, def) in scopes.iter().enumerate() {
        if def.key.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ScopeKeyRequired,
                "a scope key must not be empty",
            ));
        }
        igniter_store_names::check(igniter_store_names::NameKind::Scope, def.key).map_err(|e| {
            StoreError::new(ErrorCode::InvalidScopeKey, e.to_string())
                .with_detail("scopeKey", def.key)
        })?;
        if scopes[..i].iter().any(|d| d.key == def.key) {
            return Err(StoreError::new(
                ErrorCode::DuplicateScope,
                "a scope key is declared twice",
            )
            .with_detail("scopeKey", def.key));
        }
        if def.required {
            required |= 1 << i;
        }
    }
    Ok(required)
}

/// One link of a chain: the declared scope and the identifier as given.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ScopeLink {
    pub(crate) index: usize,
    pub(crate) key: &'static str,
    pub(crate) id: Arc<str>,
}

impl fmt::Debug for ScopeLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Identifiers are tenant data: never printed.
        f.debug_struct("ScopeLink")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The scope chain of a store handle, with the key prefix it implies
/// (`igniter:store:svc:organization:org_1`) built once.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) links: Vec<ScopeLink>,
    /// Bit `i` set when scope `i` is in the chain.
    pub(crate) present: u64,
    /// `<prefix>:<service>[:<scopeKey>:<escaped id>]*`
    pub(crate) space: KeySpace,
}

impl Chain {
    pub(crate) fn root(space: KeySpace) -> Self {
        Chain {
            links: Vec::new(),
            present: 0,
            space,
        }
    }

    /// The chain with one more link, scope `index` of `scopes` (`required`:
    /// the bit mask of the required ones). `id` is checked and escaped here.
    /// With `hash_tag`, the outermost link is written `{<key>:<id>}`, a
    /// Redis Cluster hash tag that puts every key of the tenant in one slot.
    ///
    /// Refuses, before any I/O, a scope that does not come after the last
    /// one in declaration order (`STORE_SCOPE_ORDER`) and one that would skip
    /// a required scope (`STORE_SCOPE_REQUIRED`): a chain out of order would
    /// write keys that no purge of its tenant reaches.
    pub(crate) fn child(
        &self,
        scopes: &'static [ScopeDef],
        required: u64,
        index: usize,
        id: &str,
        hash_tag: bool,
    ) -> StoreResult<Chain> {
        let def = &scopes[index];
        let next = self.links.last().map_or(0, |l| l.index + 1);
        if index < next {
            let last = self.links.last().map_or("", |l| l.key);
            let reason = if self.present & (1 << index) != 0 {
                "repeated"
            } else {
                "out of order"
            };
            return Err(StoreError::new(
                ErrorCode::ScopeOrder,
                format!(
                    "the scope `{}` cannot come after `{last}`: a chain lists scopes in declaration order, each at most once ({reason})",
                    def.key
                ),
            )
            .with_detail("scopeKey", def.key)
            .with_detail("after", last)
            .with_detail("reason", reason));
        }
        // Required scopes between the last link and this one.
        let skipped = required & !(u64::MAX << index) & (u64::MAX << next);
        if skipped != 0 {
            let missing: Vec<&str> = (next..index)
                .filter(|i| skipped & (1 << i) != 0)
                .map(|i| scopes[i].key)
                .collect();
            return Err(StoreError::new(
                ErrorCode::ScopeRequired,
                format!(
                    "the required scope `{}` must come before `{}`",
                    missing[0], def.key
                ),
            )
            .with_detail("scopeKey", def.key)
            .with_detail("missingScopes", missing));
        }
        if id.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ScopeIdentifierRequired,
                "a scope identifier must not be empty",
            )
            .with_detail("scopeKey", def.key));
        }
        let tag = hash_tag && self.links.is_empty();
        let space = self.space.child(def.key, id, tag);
        let mut links = self.links.clone();
        links.push(ScopeLink {
            index,
            key: def.key,
            id: Arc::from(id),
        });
        Ok(Chain {
            links,
            present: self.present | (1 << index),
            space,
        })
    }

    /// The innermost scope key, for telemetry (never the identifier).
    #[inline]
    pub(crate) fn innermost_key(&self) -> Option<&'static str> {
        self.links.last().map(|l| l.key)
    }

    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.links.len()
    }
}
