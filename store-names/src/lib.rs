//! The name rules of `igniter-store`, in one place.
//!
//! The derive macros of `igniter-store-macros` check names at compile time and
//! the runtime of `igniter-store` checks the same names when a store is built,
//! both through [`check`], so a name the compiler accepts is a name the runtime
//! accepts, and the other way round.
//!
//! ```
//! use igniter_store_names::{check, NameKind, NameProblem};
//!
//! assert!(check(NameKind::Scope, "organization").is_ok());
//! assert!(check(NameKind::Namespace, "ignore").is_ok()); // not reserved
//! let err = check(NameKind::Scope, "kv").unwrap_err();
//! assert_eq!(err.problem(), NameProblem::NamespaceWord);
//! ```
#![deny(missing_docs)]
#![no_std]

use core::fmt;

/// The words that name the store's own key namespaces. A scope or actor key
/// equal to one of them could make two different keys look alike, so they are
/// refused as scope keys.
pub const NAMESPACE_WORDS: &[&str] = &["kv", "counter", "claim", "events", "streams", "fence"];

/// Characters that no name may hold: the key separator, the TypeScript
/// package's event separator, Redis glob characters and hash-tag braces.
pub const FORBIDDEN_CHARS: &[char] = &[':', '.', '*', '?', '[', ']', '\\', '{', '}'];

/// What a name is for; the rules differ slightly between kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A scope key (`organization`), a key segment before an identifier.
    Scope,
    /// An actor key (`user`), carried in event envelopes.
    Actor,
    /// An event namespace (`user` in `user:created`).
    Namespace,
    /// A group of events inside a namespace.
    Group,
    /// An event name (`created`).
    Event,
    /// The service name, the key segment after the prefix.
    Service,
}

impl NameKind {
    /// The word used for this kind in messages, with its article
    /// (`"a scope key"`, `"an event name"`).
    pub const fn with_article(self) -> &'static str {
        match self {
            NameKind::Scope => "a scope key",
            NameKind::Actor => "an actor key",
            NameKind::Namespace => "a namespace",
            NameKind::Group => "a group",
            NameKind::Event => "an event name",
            NameKind::Service => "a service name",
        }
    }

    /// The word used for this kind in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            NameKind::Scope => "scope key",
            NameKind::Actor => "actor key",
            NameKind::Namespace => "namespace",
            NameKind::Group => "group",
            NameKind::Event => "event name",
            NameKind::Service => "service name",
        }
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name holds a character from [`FORBIDDEN_CHARS`].
    ForbiddenChar(char),
    /// The name holds white space or a control character.
    Whitespace,
    /// The name is reserved (`igniter`, `ign`, or starts with `__`).
    Reserved,
    /// A scope or actor key equal to a namespace word such as `kv`.
    NamespaceWord,
}

/// A refused name: its kind and the problem, without the name itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameError {
    kind: NameKind,
    problem: NameProblem,
}

impl NameError {
    /// What the name was for.
    pub const fn kind(&self) -> NameKind {
        self.kind
    }

    /// Why it was refused.
    pub const fn problem(&self) -> NameProblem {
        self.problem
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.as_str();
        let a_kind = self.kind.with_article();
        match self.problem {
            NameProblem::Empty => write!(f, "{a_kind} must not be empty"),
            NameProblem::ForbiddenChar(c) => write!(
                f,
                "{a_kind} must not contain `{c}` (`:`, `.`, glob characters `* ? [ ] \\` and braces are refused)"
            ),
            NameProblem::Whitespace => {
                write!(
                    f,
                    "{a_kind} must not contain white space or control characters"
                )
            }
            NameProblem::Reserved => write!(
                f,
                "this {kind} is reserved (`igniter`, `ign` and names starting with `__` belong to the store)"
            ),
            NameProblem::NamespaceWord => write!(
                f,
                "{a_kind} must not be a namespace word ({})",
                NamespaceWords
            ),
        }
    }
}

struct NamespaceWords;

impl fmt::Display for NamespaceWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, word) in NAMESPACE_WORDS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{word}`")?;
        }
        Ok(())
    }
}

impl core::error::Error for NameError {}

/// Checks `name` as a name of `kind`.
///
/// Every kind: not empty; none of [`FORBIDDEN_CHARS`], white space or control
/// characters. Every kind but the service: not reserved, that is not
/// `igniter` or `ign` (alone or followed by `-` or `_`, in any case) and not
/// starting with `__`; `ignore` and `ignition` are fine. Scope and actor keys:
/// not a namespace word ([`NAMESPACE_WORDS`], in any case).
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    let fail = |problem| Err(NameError { kind, problem });
    if name.is_empty() {
        return fail(NameProblem::Empty);
    }
    for c in name.chars() {
        if FORBIDDEN_CHARS.contains(&c) {
            return fail(NameProblem::ForbiddenChar(c));
        }
        if c.is_whitespace() || c.is_control() {
            return fail(NameProblem::Whitespace);
        }
    }
    if kind != NameKind::Service && is_reserved(name) {
        return fail(NameProblem::Reserved);
    }
    if matches!(kind, NameKind::Scope | NameKind::Actor)
        && NAMESPACE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(name))
    {
        return fail(NameProblem::NamespaceWord);
    }
    Ok(())
}

fn is_reserved(name: &str) -> bool {
    if name.starts_with("__") {
        return true;
    }
    ["igniter", "ign"].iter().any(|word| {
        name.len() >= word.len()
            && name.is_char_boundary(word.len())
            && name[..word.len()].eq_ignore_ascii_case(word)
            && matches!(name[word.len()..].chars().next(), None | Some('-' | '_'))
    })
}

/// The snake_case form of a Rust identifier, as the derives name variants:
/// `Organization` → `organization`, `ApiKey` → `api_key`, `HTTPServer` →
/// `http_server`.
///
/// Writes into `out` so the crate needs no allocator.
pub fn write_snake_case(ident: &str, out: &mut impl fmt::Write) -> fmt::Result {
    let mut prev: Option<char> = None;
    let mut iter = ident.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        if c.is_uppercase() {
            let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
            let acronym_end =
                prev.is_some_and(|p| p.is_uppercase()) && next.is_some_and(|n| n.is_lowercase());
            if i > 0 && prev != Some('_') && (after_lower || acronym_end) {
                out.write_char('_')?;
            }
            for l in c.to_lowercase() {
                out.write_char(l)?;
            }
        } else {
            out.write_char(c)?;
        }
        prev = Some(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn snake(s: &str) -> String {
        let mut out = String::new();
        write_snake_case(s, &mut out).unwrap();
        out
    }

    #[test]
    fn snake_case() {
        assert_eq!(snake("Organization"), "organization");
        assert_eq!(snake("ApiKey"), "api_key");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("V2Thing"), "v2_thing");
        assert_eq!(snake("already_snake"), "already_snake");
    }

    #[test]
    fn reserved_names() {
        for name in [
            "igniter",
            "IGNITER",
            "igniter_x",
            "igniter-x",
            "ign",
            "ign_x",
            "__x",
            "__internal",
        ] {
            assert_eq!(
                check(NameKind::Namespace, name).unwrap_err().problem(),
                NameProblem::Reserved,
                "{name}"
            );
        }
        for name in ["ignore", "ignition", "igniterx", "user", "_x", "x__"] {
            assert!(check(NameKind::Namespace, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn forbidden_characters() {
        for (name, c) in [
            ("a:b", ':'),
            ("a.b", '.'),
            ("a*", '*'),
            ("a?", '?'),
            ("[a", '['),
            ("a]", ']'),
            ("a\\", '\\'),
            ("{a", '{'),
            ("a}", '}'),
        ] {
            assert_eq!(
                check(NameKind::Event, name).unwrap_err().problem(),
                NameProblem::ForbiddenChar(c)
            );
        }
        assert_eq!(
            check(NameKind::Event, "a b").unwrap_err().problem(),
            NameProblem::Whitespace
        );
        assert_eq!(
            check(NameKind::Event, "a\nb").unwrap_err().problem(),
            NameProblem::Whitespace
        );
        assert_eq!(
            check(NameKind::Event, "").unwrap_err().problem(),
            NameProblem::Empty
        );
    }

    #[test]
    fn namespace_words_only_refused_for_keys() {
        assert_eq!(
            check(NameKind::Scope, "kv").unwrap_err().problem(),
            NameProblem::NamespaceWord
        );
        assert_eq!(
            check(NameKind::Actor, "Streams").unwrap_err().problem(),
            NameProblem::NamespaceWord
        );
        assert!(check(NameKind::Event, "kv").is_ok());
        assert!(check(NameKind::Service, "igniter").is_ok());
    }
}
