//! Case conversions: the names the macros derive from identifiers (keys,
//! event names, constants, variants), and the `rename_all` rules.
//!
//! Every conversion starts from the words of an identifier as
//! `igniter_store_names::write_snake_case` splits them, so `HTTPServer` is
//! the words `http` and `server` whatever the target case.

use proc_macro2::{Ident, Span};

/// The snake_case form of `ident`: `ApiKey` → `api_key`, `passwordReset` →
/// `password_reset`.
pub(crate) fn snake(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 4);
    // Writing into a String cannot fail.
    let _ = igniter_store_names::write_snake_case(ident, &mut out);
    out
}

/// The SCREAMING_SNAKE_CASE form of `ident`, the name of a constant:
/// `passwordReset` → `PASSWORD_RESET`.
pub(crate) fn screaming_snake(ident: &str) -> String {
    snake(ident).to_uppercase()
}

/// The PascalCase form of the identifiers `parts`, joined: `notifications`,
/// `email` → `NotificationsEmail`.
pub(crate) fn pascal<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for part in parts {
        for word in snake(part).split('_') {
            push_capitalized(&mut out, word);
        }
    }
    out
}

fn push_capitalized(out: &mut String, word: &str) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
}

/// How `#[derive(StoreEvents)]` names an event after its variant, chosen with
/// `#[store(rename_all = "...")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `password_reset`, the default.
    Snake,
    /// `passwordReset`.
    Camel,
    /// `PasswordReset`.
    Pascal,
    /// `PASSWORD_RESET`.
    ScreamingSnake,
    /// `password-reset`.
    Kebab,
    /// `passwordreset`.
    Lower,
}

impl RenameRule {
    /// Every rule, in the order messages list them.
    pub(crate) const ALL: [RenameRule; 6] = [
        RenameRule::Snake,
        RenameRule::Camel,
        RenameRule::Pascal,
        RenameRule::ScreamingSnake,
        RenameRule::Kebab,
        RenameRule::Lower,
    ];

    /// The rule's name, as written in `rename_all = "..."`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RenameRule::Snake => "snake_case",
            RenameRule::Camel => "camelCase",
            RenameRule::Pascal => "PascalCase",
            RenameRule::ScreamingSnake => "SCREAMING_SNAKE_CASE",
            RenameRule::Kebab => "kebab-case",
            RenameRule::Lower => "lowercase",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        RenameRule::ALL
            .into_iter()
            .find(|rule| rule.as_str() == name)
    }

    /// Every rule's name, quoted and comma-separated, for messages.
    pub(crate) fn list() -> String {
        let names: Vec<String> = RenameRule::ALL
            .iter()
            .map(|rule| format!("`{}`", rule.as_str()))
            .collect();
        names.join(", ")
    }

    /// The event name of a variant named `ident` (raw prefix removed).
    pub(crate) fn apply(self, ident: &str) -> String {
        let snake = snake(ident);
        match self {
            RenameRule::Snake => snake,
            RenameRule::ScreamingSnake => snake.to_uppercase(),
            RenameRule::Kebab => snake.replace('_', "-"),
            RenameRule::Lower => snake.replace('_', ""),
            RenameRule::Pascal => pascal([ident]),
            RenameRule::Camel => {
                let mut out = String::with_capacity(snake.len());
                for (i, word) in snake.split('_').enumerate() {
                    if i == 0 {
                        out.push_str(word);
                    } else {
                        push_capitalized(&mut out, word);
                    }
                }
                out
            }
        }
    }
}

/// A Rust identifier the macros make from the user's names (a constant, a
/// variant), and the span of the name it is made from. Not necessarily a
/// valid identifier: `valid` checks, `expand` only emits valid ones.
#[derive(Debug, Clone)]
pub(crate) struct GenIdent {
    pub(crate) value: String,
    pub(crate) span: Span,
}

impl GenIdent {
    pub(crate) fn new(value: String, span: Span) -> Self {
        GenIdent { value, span }
    }

    /// The identifier, or `None` when `value` is not one (e.g. `Self`, `1`).
    pub(crate) fn to_ident(&self) -> Option<Ident> {
        let mut ident: Ident = syn::parse_str(&self.value).ok()?;
        ident.set_span(self.span);
        Some(ident)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_and_variants() {
        assert_eq!(screaming_snake("created"), "CREATED");
        assert_eq!(screaming_snake("passwordReset"), "PASSWORD_RESET");
        assert_eq!(screaming_snake("ApiKey"), "API_KEY");
        assert_eq!(
            pascal(["notifications", "digest", "weekly"]),
            "NotificationsDigestWeekly"
        );
        assert_eq!(pascal(["passwordReset"]), "PasswordReset");
        assert_eq!(pascal(["HTTPServer"]), "HttpServer");
        assert_eq!(pascal(["_1"]), "1");
    }

    #[test]
    fn rename_rules() {
        let cases = [
            (RenameRule::Snake, "password_reset", "http_server"),
            (RenameRule::Camel, "passwordReset", "httpServer"),
            (RenameRule::Pascal, "PasswordReset", "HttpServer"),
            (RenameRule::ScreamingSnake, "PASSWORD_RESET", "HTTP_SERVER"),
            (RenameRule::Kebab, "password-reset", "http-server"),
            (RenameRule::Lower, "passwordreset", "httpserver"),
        ];
        for (rule, password, http) in cases {
            assert_eq!(rule.apply("PasswordReset"), password, "{rule:?}");
            assert_eq!(rule.apply("HTTPServer"), http, "{rule:?}");
            assert_eq!(RenameRule::from_name(rule.as_str()), Some(rule));
        }
        assert_eq!(RenameRule::from_name("snake"), None);
    }

    #[test]
    fn generated_identifiers() {
        assert!(
            GenIdent::new("CREATED".into(), Span::call_site())
                .to_ident()
                .is_some()
        );
        for bad in ["Self", "1", "", "a b"] {
            assert!(
                GenIdent::new(bad.into(), Span::call_site())
                    .to_ident()
                    .is_none(),
                "{bad}"
            );
        }
    }
}
