//! Payload types in generated code: where they resolve, and how they print.
//!
//! `events!` puts its constants and enum in modules below the call site,
//! which glob-import their parent (`use super::*`), so a payload type written
//! at the call site resolves the same inside them. Two kinds of path would
//! not, and are rewritten: paths relative to the call site's module
//! (`self::`, `super::`), and paths whose first name a generated item
//! shadows (a group module, the enum `Event`).

use std::collections::HashSet;

use proc_macro2::Ident;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit_mut::{self, VisitMut};
use syn::{Path, PathSegment, Type};

use crate::ast::Namespace;

/// Where generated code that names payload types sits.
#[derive(Clone, Copy)]
pub(super) struct Site<'a> {
    /// How many modules below the call site.
    pub(super) depth: usize,
    /// The type-namespace names the generated modules declare there or in
    /// the modules between it and the call site, which shadow the call
    /// site's items of the same name.
    pub(super) names: &'a HashSet<String>,
}

/// The names that shadow call-site items in the module of the group at
/// `path` (empty: the namespace's module): `Event`, and the group modules
/// of that module and of each module between it and the namespace's.
pub(super) fn generated_names(ns: &Namespace, path: &[&str]) -> HashSet<String> {
    let mut names = HashSet::from(["Event".to_owned()]);
    for group in &ns.groups {
        let parents = group.parents.iter().map(|name| name.value.as_str());
        let under_path = group.parents.len() <= path.len()
            && parents.eq(path[..group.parents.len()].iter().copied());
        if under_path {
            names.insert(group.ident.unraw().to_string());
        }
    }
    names
}

/// `ty`, as written at the call site, for use `depth` modules below it.
/// Paths relative to the call site's module (`self::X`, `super::X`) and
/// paths starting with a name the generated modules shadow (`names`) get
/// `depth` more `super`s; every other path resolves through the modules'
/// `use super::*`, prelude types included.
pub(super) fn relocate(ty: &Type, depth: usize, names: &HashSet<String>) -> Type {
    let mut ty = ty.clone();
    if depth > 0 {
        Relocate { depth, names }.visit_type_mut(&mut ty);
    }
    ty
}

struct Relocate<'a> {
    depth: usize,
    names: &'a HashSet<String>,
}

impl VisitMut for Relocate<'_> {
    fn visit_path_mut(&mut self, path: &mut Path) {
        visit_mut::visit_path_mut(self, path);
        if path.leading_colon.is_some() {
            return;
        }
        let Some(first) = path.segments.first() else {
            return;
        };
        let span = first.ident.span();
        let is_self = first.ident == "self";
        let relative = is_self
            || first.ident == "super"
            || self.names.contains(&first.ident.unraw().to_string());
        if !relative {
            return;
        }
        let mut segments: Vec<PathSegment> = (0..self.depth)
            .map(|_| PathSegment::from(Ident::new("super", span)))
            .collect();
        segments.extend(path.segments.iter().skip(usize::from(is_self)).cloned());
        path.segments = segments.into_iter().collect();
    }
}

/// A type as a user writes it, for `ChannelDef::payload`: `Vec<u8>`, not
/// `Vec < u8 >`.
pub(super) fn type_string(ty: &Type) -> String {
    let raw = ty.to_token_stream().to_string();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'';
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ' ' {
            out.push(c);
            continue;
        }
        let prev = out.chars().next_back();
        let next = chars.peek().copied();
        let between_words = prev.is_some_and(word) && next.is_some_and(word);
        if between_words || matches!(prev, Some(',' | ';')) {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    #[test]
    fn type_strings() {
        for (written, expected) in [
            ("UserCreated", "UserCreated"),
            ("crate :: types :: X", "crate::types::X"),
            ("Vec<u8>", "Vec<u8>"),
            ("HashMap<String, Vec<u8>>", "HashMap<String, Vec<u8>>"),
            ("(A, B)", "(A, B)"),
            ("&'static str", "&'static str"),
            ("[u8; 4]", "[u8; 4]"),
            ("Box<dyn Fn(u8) -> u8>", "Box<dyn Fn(u8)->u8>"),
        ] {
            assert_eq!(type_string(&ty(written)), expected, "{written}");
        }
    }

    #[test]
    fn relocated_paths() {
        let names = HashSet::from(["Event".to_owned(), "billing".to_owned()]);
        let at = |s: &str, depth| {
            relocate(&ty(s), depth, &names)
                .to_token_stream()
                .to_string()
        };
        assert_eq!(at("self::X", 2), "super :: super :: X");
        assert_eq!(at("super::X", 1), "super :: super :: X");
        assert_eq!(at("Vec<self::X>", 1), "Vec < super :: X >");
        assert_eq!(at("crate::X", 2), "crate :: X");
        assert_eq!(at("::std::string::String", 2), ":: std :: string :: String");
        assert_eq!(at("X", 3), "X");
        assert_eq!(at("self::X", 0), "self :: X");
        // Shadowed by the generated `Event` and group `billing`.
        assert_eq!(at("Event", 1), "super :: Event");
        assert_eq!(
            at("Vec<billing::Charge>", 2),
            "Vec < super :: super :: billing :: Charge >"
        );
        assert_eq!(at("Events", 1), "Events");
    }
}
