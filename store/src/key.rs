//! Key and pattern building.
//!
//! ```text
//! key  <prefix>:<service>[:<scopeKey>:<id>]*:<ns>:<key>
//! ```
//!
//! Scope identifiers are percent-escaped (`%` → `%25`, `:` → `%3A`, `{` →
//! `%7B`, `}` → `%7D`), so an identifier can never add a segment and forge
//! another chain. User keys, the tail, are kept as they are: they routinely
//! hold `:`, and nothing follows them. Because a scope key is never a
//! namespace word, reading a key from the left is unambiguous, which makes the
//! mapping from (chain, namespace, key) to a Redis key one-to-one.
//!
//! In SCAN patterns the fixed part is glob-escaped (`* ? [ ] \`), so only the
//! user's own pattern is a pattern.

use std::fmt;

/// The store's key namespaces, the segment between the scope chain and the
/// user's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Namespace {
    /// Key-value entries and batches: `...:kv:<key>`.
    Kv,
    /// Counters: `...:counter:<key>`.
    Counter,
    /// Claims: `...:claim:<key>`.
    Claim,
    /// The fencing counters of claims: `...:fence:{<claim key>}`.
    Fence,
    /// Streams: `...:streams:<name>`.
    Streams,
}

impl Namespace {
    /// The key segment, e.g. `"kv"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Namespace::Kv => "kv",
            Namespace::Counter => "counter",
            Namespace::Claim => "claim",
            Namespace::Fence => "fence",
            Namespace::Streams => "streams",
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Appends `id` to `out`, percent-escaping `%`, `:`, `{` and `}`.
pub(crate) fn escape_identifier_into(id: &str, out: &mut String) {
    for c in id.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
}

/// `id` percent-escaped as it appears in keys.
///
/// ```
/// assert_eq!(igniter_store::key::escape_identifier("a:kv:x"), "a%3Akv%3Ax");
/// assert_eq!(igniter_store::key::escape_identifier("org_123"), "org_123");
/// ```
pub fn escape_identifier(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    escape_identifier_into(id, &mut out);
    out
}

/// The identifier that [`escape_identifier`] turned into `escaped`, or `None`
/// when `escaped` is not the output of an escape.
///
/// ```
/// use igniter_store::key::{escape_identifier, unescape_identifier};
/// assert_eq!(unescape_identifier(&escape_identifier("50%:{x}")).as_deref(), Some("50%:{x}"));
/// ```
pub fn unescape_identifier(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(pos) = rest.find(['%', ':', '{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let c = match tail.get(..3)? {
            "%25" => '%',
            "%3A" => ':',
            "%7B" => '{',
            "%7D" => '}',
            _ => return None,
        };
        out.push(c);
        rest = &tail[3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Appends `fixed` to `out` with every Redis glob character (`* ? [ ] \`)
/// escaped by a backslash, so that it matches only itself in a pattern.
pub(crate) fn escape_glob_into(fixed: &str, out: &mut String) {
    for c in fixed.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `fixed` with every glob character escaped.
///
/// ```
/// assert_eq!(igniter_store::key::escape_glob("a*b[c]"), r"a\*b\[c\]");
/// ```
pub fn escape_glob(fixed: &str) -> String {
    let mut out = String::with_capacity(fixed.len() + 8);
    escape_glob_into(fixed, &mut out);
    out
}

/// `<base>:<ns>:<key>`.
pub(crate) fn full_key(base: &str, ns: Namespace, key: &str) -> String {
    let ns = ns.as_str();
    let mut out = String::with_capacity(base.len() + ns.len() + key.len() + 2);
    out.push_str(base);
    out.push(':');
    out.push_str(ns);
    out.push(':');
    out.push_str(key);
    out
}

/// The fencing key of a claim key: `<base>:fence:{<claim key>}`. The braces
/// make Redis Cluster hash it like the claim key itself (when the claim key
/// holds no `}`), so a script can touch both.
pub(crate) fn fence_key(base: &str, claim_key: &str) -> String {
    let mut out = String::with_capacity(base.len() + claim_key.len() + 9);
    out.push_str(base);
    out.push_str(":fence:{");
    out.push_str(claim_key);
    out.push('}');
    out
}

/// The SCAN pattern of `user_pattern` in namespace `ns` under `base`.
pub(crate) fn pattern(base: &str, ns: Namespace, user_pattern: &str) -> String {
    let mut out = String::with_capacity(base.len() + user_pattern.len() + 16);
    escape_glob_into(base, &mut out);
    out.push(':');
    out.push_str(ns.as_str());
    out.push(':');
    out.push_str(user_pattern);
    out
}

/// The pattern of every key of the chain `base` and the chains under it.
pub(crate) fn subtree_pattern(base: &str) -> String {
    let mut out = String::with_capacity(base.len() + 4);
    escape_glob_into(base, &mut out);
    out.push_str(":*");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trip() {
        for id in ["", "plain", "a:b", "%3A", "{x}", "%", "ü:%{}", "a%3Ab"] {
            assert_eq!(
                unescape_identifier(&escape_identifier(id)).as_deref(),
                Some(id)
            );
        }
        assert_eq!(unescape_identifier("a:b"), None);
        assert_eq!(unescape_identifier("%4"), None);
        assert_eq!(unescape_identifier("%41"), None);
    }

    #[test]
    fn keys() {
        assert_eq!(
            full_key("igniter:store:api", Namespace::Kv, "user:1"),
            "igniter:store:api:kv:user:1"
        );
        assert_eq!(
            fence_key("igniter:store:api", "igniter:store:api:claim:job"),
            "igniter:store:api:fence:{igniter:store:api:claim:job}"
        );
        assert_eq!(
            pattern("p:s:o:a*b", Namespace::Kv, "u*"),
            r"p:s:o:a\*b:kv:u*"
        );
        assert_eq!(subtree_pattern("p:s:o:[x]"), r"p:s:o:\[x\]:*");
    }
}
