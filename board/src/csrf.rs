//! Protection of the actions against cross-site requests: a token in every
//! form, and the browser's own word on where a request comes from.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The name of the form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

/// The secret of one board: 32 random bytes, made when the router is built
/// and never shown. A tenant's token is an HMAC of its mount under it, so
/// one tenant's page holds no token another tenant's board accepts.
pub(crate) struct Csrf {
    key: [u8; 32],
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Csrf(..)")
    }
}

impl Csrf {
    /// A new random secret from the operating system.
    ///
    /// # Panics
    ///
    /// When the operating system has no randomness to give, which leaves no
    /// way to make a token nobody can guess.
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random number generator");
        Csrf { key }
    }

    /// The token of the board mounted for `tenant` (`""` for a board of one
    /// handle): 64 hex digits.
    pub(crate) fn token(&self, tenant: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(b"igniter-store-board csrf v1\0");
        mac.update(tenant.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        hex
    }

    /// Whether `given` is the token of `tenant`, compared in constant time.
    pub(crate) fn verify(&self, tenant: &str, given: &str) -> bool {
        let expected = self.token(tenant);
        // The length is no secret (always 64); the bytes are compared
        // without an early exit.
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// Whether the browser says the request comes from the board's own origin.
///
/// - `Sec-Fetch-Site` (sent by every current browser, and which no page can
///   set) decides when present: only `same-origin` and `none` (typed in the
///   address bar, a bookmark) pass; `same-site` and `cross-site` do not.
/// - Without it, an `Origin` header must name the request's own host
///   (`Host`, or the authority of an HTTP/2 request); `Origin: null` fails.
/// - A request with neither comes from no browser (a script, `curl`): no
///   cross-site request can be forged through it, and the token still has
///   to be right.
pub(crate) fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let Some(host) = host else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_per_board_and_per_tenant() {
        let board = Csrf::random();
        let acme = board.token("acme");
        assert_eq!(acme.len(), 64);
        assert!(board.verify("acme", &acme));
        assert!(!board.verify("globex", &acme));
        assert!(!board.verify("acme", &board.token("globex")));
        assert!(!board.verify("acme", ""));
        assert!(!board.verify("acme", &acme[..63]));
        assert!(!Csrf::random().verify("acme", &acme));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origins() {
        let ok = |pairs: &[(&'static str, &'static str)]| same_origin(&headers(pairs), None);
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(ok(&[("sec-fetch-site", "none")]));
        assert!(!ok(&[("sec-fetch-site", "cross-site")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(ok(&[
            ("host", "board.example:8080"),
            ("origin", "http://board.example:8080")
        ]));
        assert!(ok(&[
            ("host", "board.example"),
            ("origin", "https://BOARD.example")
        ]));
        assert!(!ok(&[
            ("host", "board.example"),
            ("origin", "https://evil.example")
        ]));
        assert!(!ok(&[("host", "board.example"), ("origin", "null")]));
        assert!(!ok(&[("origin", "https://board.example")]));
        assert!(same_origin(
            &headers(&[("origin", "https://board.example")]),
            Some("board.example")
        ));
        // No browser: the token decides.
        assert!(ok(&[("host", "board.example")]));
    }
}
