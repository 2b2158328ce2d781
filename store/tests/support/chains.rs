//! Scope chains as data, for the property tests: the one generator of valid
//! chains, and a model of which chains `Store::scope` accepts.
//!
//! The declared order of a `#[derive(StoreScopes)]` enum is the tenant
//! hierarchy: a valid chain lists scopes in declaration order, each at most
//! once, and skips no required scope (a chain may stop before one: it is
//! then an ancestor with no data operations). The generators here draw only
//! chains that hold every required scope, which is what a test that writes
//! through a chain needs.
//!
//! Not part of `support/mod.rs` (which the examples' tests include too, and
//! they have no proptest): include it with
//! `#[path = "support/chains.rs"] mod chains;`.

// Each test binary uses only part of it.
#![allow(dead_code)]

use std::fmt::Debug;
use std::ops::RangeInclusive;

use igniter_store::scope::{Dynamic, NextScope, ScopePosition};
use igniter_store::{ErrorCode, Serializer, Store, StoreActors, StoreResult, StoreScopes};
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// A scope chain as data: `(scope, identifier)` links, outermost first.
pub type Chain<T> = Vec<(T, String)>;

/// The code `Store::scope` refuses the link at `position` of `scopes` with,
/// and that position, or `None` when it accepts the whole sequence (the
/// model the library is compared with): a scope that does not come after the
/// last one in declaration order, or comes twice, is `STORE_SCOPE_ORDER`; one
/// that skips a required scope is `STORE_SCOPE_REQUIRED`.
pub fn refusal<T: StoreScopes>(scopes: &[T]) -> Option<(usize, ErrorCode)> {
    // The index the next scope may start at.
    let mut next = 0;
    for (position, scope) in scopes.iter().enumerate() {
        let index = scope.index();
        if index < next {
            return Some((position, ErrorCode::ScopeOrder));
        }
        if (next..index).any(|i| T::SCOPES[i].required()) {
            return Some((position, ErrorCode::ScopeRequired));
        }
        next = index + 1;
    }
    None
}

/// Whether a chain of `scopes` (accepted by [`refusal`]) lacks a required
/// scope: its handle has no data operations on the typed path, and its
/// operations fail with `STORE_SCOPE_REQUIRED` on the dynamic one.
pub fn lacks_required<T: StoreScopes>(scopes: &[T]) -> bool {
    let next = scopes.last().map_or(0, |s| s.index() + 1);
    (next..T::SCOPES.len()).any(|i| T::SCOPES[i].required())
}

/// Whether `scopes` is a chain that data can be written through: accepted,
/// and holding every required scope.
pub fn is_valid<T: StoreScopes>(scopes: &[T]) -> bool {
    refusal(scopes).is_none() && !lacks_required(scopes)
}

/// Every valid chain of scopes over `all` (every scope of the set, in
/// declaration order) whose length is in `links`, shortest first (so that
/// shrinking goes to shorter chains).
pub fn valid_scope_lists<T: StoreScopes + Copy>(
    all: &[T],
    links: RangeInclusive<usize>,
) -> Vec<Vec<T>> {
    assert!(
        all.len() <= 16,
        "the scope lists are enumerated: keep the set small"
    );
    assert!(
        all.iter().enumerate().all(|(i, s)| s.index() == i),
        "`all` lists every scope, in declaration order"
    );
    let mut lists: Vec<Vec<T>> = (0u32..1 << all.len())
        .map(|mask| {
            (0..all.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| all[i])
                .collect::<Vec<T>>()
        })
        .filter(|list| links.contains(&list.len()) && is_valid(list))
        .collect();
    lists.sort_by_key(Vec::len);
    lists
}

/// The one generator of valid chains: scopes of `all` in declaration order,
/// each at most once, every required one present, `links` of them, each
/// with an identifier drawn from `id`.
pub fn valid_chain<T, I>(
    all: &'static [T],
    links: RangeInclusive<usize>,
    id: I,
) -> impl Strategy<Value = Chain<T>> + Clone
where
    T: StoreScopes + Copy + Debug,
    I: Strategy<Value = String> + Clone,
{
    let lists = valid_scope_lists(all, links);
    assert!(!lists.is_empty(), "no valid chain has that many links");
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (select(lists), prop::collection::vec(id, longest))
        .prop_map(|(scopes, ids)| scopes.into_iter().zip(ids).collect())
}

/// The scopes of `all` that may come next after `chain` (any scope after its
/// last one, up to and including the first required one).
pub fn may_follow<T: StoreScopes + Copy>(all: &[T], chain: &[T]) -> Vec<T> {
    let next = chain.last().map_or(0, |s| s.index() + 1);
    let mut follow = Vec::new();
    for &scope in &all[next..] {
        follow.push(scope);
        if scope.def().required() {
            break;
        }
    }
    follow
}

/// Another valid list of scopes as long as `scopes`, picked by `pick` (the
/// same one when it is the only one).
pub fn other_scopes<T: StoreScopes + Copy + PartialEq>(
    all: &[T],
    scopes: &[T],
    pick: Index,
) -> Vec<T> {
    let same_length = valid_scope_lists(all, scopes.len()..=scopes.len());
    let others: Vec<&Vec<T>> = same_length.iter().filter(|l| l[..] != scopes[..]).collect();
    if others.is_empty() {
        scopes.to_vec()
    } else {
        pick.get(&others).to_vec()
    }
}

/// The scopes of a chain.
pub fn scopes_of<T: Copy>(chain: &[(T, String)]) -> Vec<T> {
    chain.iter().map(|(s, _)| *s).collect()
}

/// `root` scoped by every link of `chain`, by scope values (the dynamic path).
pub fn scoped<P, T, A, Z>(
    root: &Store<P, A, Z>,
    chain: &[(T, String)],
) -> StoreResult<Store<Dynamic<T>, A, Z>>
where
    P: ScopePosition<Scopes = T>,
    T: StoreScopes + NextScope<Dynamic<T>, Next = Dynamic<T>> + Copy,
    A: StoreActors,
    Z: Serializer,
{
    let mut handle = root.clone().into_dynamic();
    for (scope, id) in chain {
        handle = handle.scope(*scope, id)?;
    }
    Ok(handle)
}
