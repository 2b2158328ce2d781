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

/// Whether `subject` matches the Redis glob `pattern` (`SCAN MATCH`,
/// `PSUBSCRIBE`), byte for byte as Redis's `stringmatchlen`: what the memory
/// adapter uses, and what a pattern built with [`escape_glob`] matches.
///
/// ```
/// use igniter_store::key::glob_matches;
/// assert!(glob_matches(b"user:[0-9]*", b"user:42"));
/// assert!(!glob_matches(b"user:[^0-9]*", b"user:42"));
/// assert!(glob_matches(br"a\*", b"a*"));
/// ```
pub fn glob_matches(pattern: &[u8], subject: &[u8]) -> bool {
    crate::glob::matches(pattern, subject)
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

/// The key space of one scope chain, `<prefix>:<service>[:<scopeKey>:<id>]*`:
/// the one writer and reader of the store's key layout. Every key, pattern,
/// channel and fencing key is written here, and every key read back from a
/// backend is taken apart here; no other module spells a namespace segment.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeySpace {
    base: String,
}

impl fmt::Debug for KeySpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The base holds tenant identifiers: never printed.
        f.debug_struct("KeySpace").finish_non_exhaustive()
    }
}

impl KeySpace {
    /// The space of a service: `<prefix>:<service>`.
    pub(crate) fn root(prefix: &str, service: &str) -> Self {
        let mut base = String::with_capacity(prefix.len() + service.len() + 1);
        base.push_str(prefix);
        base.push(':');
        base.push_str(service);
        KeySpace { base }
    }

    /// The space of a child scope: `<base>:<scope key>:<escaped id>`. With
    /// `hash_tag`, the link is written `{<scope key>:<escaped id>}`, a Redis
    /// Cluster hash tag that puts every key under it in one slot (braces in
    /// the identifier are escaped, so none can change the tag).
    pub(crate) fn child(&self, scope_key: &str, id: &str, hash_tag: bool) -> Self {
        let mut base = String::with_capacity(self.base.len() + scope_key.len() + id.len() + 4);
        base.push_str(&self.base);
        base.push(':');
        if hash_tag {
            base.push('{');
        }
        base.push_str(scope_key);
        base.push(':');
        escape_identifier_into(id, &mut base);
        if hash_tag {
            base.push('}');
        }
        KeySpace { base }
    }

    /// The length of the full key of `key` in `ns`.
    #[inline]
    pub(crate) fn key_len(&self, ns: Namespace, key: &str) -> usize {
        self.base.len() + infix(ns).len() + key.len()
    }

    /// Appends the full key of `key` in `ns`, `<base>:<ns>:<key>`, to `out`.
    #[inline]
    pub(crate) fn push_key(&self, ns: Namespace, key: &str, out: &mut String) {
        out.reserve(self.key_len(ns, key));
        out.push_str(&self.base);
        out.push_str(infix(ns));
        out.push_str(key);
    }

    /// The full key of `key` in `ns`.
    pub(crate) fn key(&self, ns: Namespace, key: &str) -> String {
        let mut out = String::new();
        self.push_key(ns, key, &mut out);
        out
    }

    /// The full key of `key` in `ns` as one Redis argument, written into
    /// the command in pieces: no string is built.
    #[cfg(feature = "redis")]
    pub(crate) fn redis_key<'a>(&'a self, ns: Namespace, key: &'a str) -> RedisKey<'a> {
        RedisKey {
            space: self,
            ns,
            key,
        }
    }

    /// The keys of a namespace as one string, `<base>:<ns>:`, for a command
    /// that writes many keys after the same prefix.
    #[cfg(feature = "redis")]
    pub(crate) fn namespace_prefix(&self, ns: Namespace) -> String {
        let mut out = String::with_capacity(self.base.len() + infix(ns).len() + 32);
        out.push_str(&self.base);
        out.push_str(infix(ns));
        out
    }

    /// The key relative to this space of a full key of namespace `ns`, or
    /// `None` when `full` is not one (or, read back from a backend, is not
    /// UTF-8: the store cannot name it).
    pub(crate) fn relative<'k>(&self, ns: Namespace, full: &'k [u8]) -> Option<&'k str> {
        let rest = full.strip_prefix(self.base.as_bytes())?;
        let rest = rest.strip_prefix(infix(ns).as_bytes())?;
        std::str::from_utf8(rest).ok()
    }

    /// The fencing key of a claim's full key: `<base>:fence:{<claim key>}`.
    /// The braces make Redis Cluster hash it like the claim key itself (when
    /// the claim key holds no `}`), so one script can touch both.
    pub(crate) fn fence_key(&self, claim_key: &str) -> String {
        let mut out = String::with_capacity(self.base.len() + claim_key.len() + 9);
        out.push_str(&self.base);
        out.push_str(infix(Namespace::Fence));
        out.push('{');
        out.push_str(claim_key);
        out.push('}');
        out
    }

    /// The SCAN pattern of `user_pattern` in namespace `ns`: the fixed part
    /// glob-escaped, so only the user's pattern is a pattern.
    pub(crate) fn pattern(&self, ns: Namespace, user_pattern: &str) -> String {
        let mut out = String::with_capacity(self.base.len() + user_pattern.len() + 16);
        escape_glob_into(&self.base, &mut out);
        out.push_str(infix(ns));
        out.push_str(user_pattern);
        out
    }

    /// The pattern of every key of this space and the spaces under it.
    pub(crate) fn subtree_pattern(&self) -> String {
        let mut out = String::with_capacity(self.base.len() + 4);
        escape_glob_into(&self.base, &mut out);
        out.push_str(":*");
        out
    }

    /// The channel of `event` (`<namespace>:<group>*:<event>`):
    /// `<base>:events:<event>`.
    pub(crate) fn channel(&self, event: &str) -> String {
        let mut out = String::with_capacity(self.base.len() + EVENTS_INFIX.len() + event.len());
        out.push_str(&self.base);
        out.push_str(EVENTS_INFIX);
        out.push_str(event);
        out
    }

    /// The pattern of every channel of event namespace `namespace`, the
    /// fixed part glob-escaped: `<base>:events:<namespace>:*`.
    pub(crate) fn channel_pattern(&self, namespace: &str) -> String {
        let mut out = String::with_capacity(self.base.len() + namespace.len() + 12);
        escape_glob_into(&self.base, &mut out);
        out.push_str(EVENTS_INFIX);
        escape_glob_into(namespace, &mut out);
        out.push_str(":*");
        out
    }

    /// The event name (`<namespace>:<group>*:<event>`) of a channel of this
    /// space, or `None` when the channel is not one.
    pub(crate) fn event<'c>(&self, channel: &'c str) -> Option<&'c str> {
        channel
            .strip_prefix(self.base.as_str())?
            .strip_prefix(EVENTS_INFIX)
    }
}

/// A full key written into a Redis command piece by piece; see
/// [`KeySpace::redis_key`].
#[cfg(feature = "redis")]
#[derive(Clone, Copy)]
pub(crate) struct RedisKey<'a> {
    space: &'a KeySpace,
    ns: Namespace,
    key: &'a str,
}

#[cfg(feature = "redis")]
impl RedisKey<'_> {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.space.key_len(self.ns, self.key)
    }
}

#[cfg(feature = "redis")]
impl redis::ToRedisArgs for RedisKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        use bytes::BufMut as _;
        let mut arg = out.bufmut_for_next_arg(self.len());
        arg.put_slice(self.space.base.as_bytes());
        arg.put_slice(infix(self.ns).as_bytes());
        arg.put_slice(self.key.as_bytes());
    }
}

/// The segment between a chain and an event name in a channel.
const EVENTS_INFIX: &str = ":events:";

/// A namespace with its colons, `:kv:`, to copy in one piece.
#[inline]
const fn infix(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Kv => ":kv:",
        Namespace::Counter => ":counter:",
        Namespace::Claim => ":claim:",
        Namespace::Fence => ":fence:",
        Namespace::Streams => ":streams:",
    }
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
        let api = KeySpace::root("igniter:store", "api");
        assert_eq!(
            api.key(Namespace::Kv, "user:1"),
            "igniter:store:api:kv:user:1"
        );
        assert_eq!(
            api.fence_key("igniter:store:api:claim:job"),
            "igniter:store:api:fence:{igniter:store:api:claim:job}"
        );
        let odd = KeySpace::root("p", "s").child("o", "a*b", false);
        assert_eq!(odd.pattern(Namespace::Kv, "u*"), r"p:s:o:a\*b:kv:u*");
        let tenant = KeySpace::root("p", "s").child("o", "[x]", false);
        assert_eq!(tenant.subtree_pattern(), r"p:s:o:\[x\]:*");
        let tagged = KeySpace::root("p", "s").child("org", "a:{b}", true);
        assert_eq!(tagged.key(Namespace::Kv, "k"), "p:s:{org:a%3A%7Bb%7D}:kv:k");
        assert_eq!(
            tenant.relative(Namespace::Kv, b"p:s:o:[x]:kv:a:b"),
            Some("a:b")
        );
        assert_eq!(tenant.relative(Namespace::Kv, b"p:s:o:[x]:counter:a"), None);
        assert_eq!(tenant.relative(Namespace::Kv, b"p:s:o:[x]:kv:\xff"), None);
        assert_eq!(
            api.channel("user:created"),
            "igniter:store:api:events:user:created"
        );
        assert_eq!(
            api.event("igniter:store:api:events:user:created"),
            Some("user:created")
        );
        assert_eq!(api.event("igniter:store:apix:events:user:created"), None);
        assert_eq!(odd.channel_pattern("us*r"), r"p:s:o:a\*b:events:us\*r:*");
    }
}
