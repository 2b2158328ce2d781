//! Tenant scopes: the [`StoreScopes`] trait the derive implements, and the
//! chain of scopes a store handle carries.

use std::fmt;
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

/// The set of scopes a store accepts, usually derived:
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
/// The derive checks every key at compile time with the rules of
/// `igniter-store-names`; a hand-written implementation is checked by the same
/// rules when the store is built.
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

    /// The chain with one more link. `id` is checked and escaped here. With
    /// `hash_tag`, the outermost link is written `{<key>:<id>}`, a Redis
    /// Cluster hash tag that puts every key of the tenant in one slot.
    pub(crate) fn child(
        &self,
        def: &'static ScopeDef,
        index: usize,
        id: &str,
        hash_tag: bool,
    ) -> StoreResult<Chain> {
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
    pub(crate) fn innermost_key(&self) -> Option<&'static str> {
        self.links.last().map(|l| l.key)
    }

    pub(crate) fn depth(&self) -> usize {
        self.links.len()
    }
}
