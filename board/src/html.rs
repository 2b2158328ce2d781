//! HTML by hand: escaping, the page layout, and the formats of ids, times,
//! durations and payloads.
//!
//! Every piece of text that is not a literal of this crate goes through
//! [`Html::text`] (which escapes) before it reaches a page: stream names,
//! consumer names, entry ids, payloads and the mount path alike.

use std::fmt::Write as _;
use std::time::Duration;

/// Appends `text` to `out` with the five characters that matter in HTML
/// text and in quoted attribute values replaced by entities.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A path segment with everything but unreserved characters
/// percent-encoded, so a stream name (`jobs:resize`, or one holding `/`,
/// `?` or `#`) is one segment of a link. The router decodes it back.
pub(crate) fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// An HTML fragment being written: literal markup with [`Html::raw`], text
/// with [`Html::text`] (always escaped).
#[derive(Debug, Default)]
pub(crate) struct Html(String);

impl Html {
    pub(crate) fn new() -> Self {
        Html(String::with_capacity(4096))
    }

    /// Markup written by this crate.
    pub(crate) fn raw(&mut self, markup: &str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text from anywhere else, escaped.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }

    /// A number.
    pub(crate) fn num(&mut self, n: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.0, "{n}");
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// What a page shows around its body.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    /// The page title (text).
    pub(crate) title: &'a str,
    /// The board's mount path without a trailing slash (`""` at the root).
    pub(crate) base: &'a str,
    /// Whether actions are on.
    pub(crate) actions: bool,
    /// A message about the last action, shown above the body.
    pub(crate) notice: Option<Notice>,
    /// Which navigation link is the current page.
    pub(crate) nav: Nav,
}

/// The navigation entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Streams,
    Events,
    None,
}

/// The outcome of an action, shown on the page it redirects to. Only these
/// fixed texts: nothing a request sends is reflected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    Retried,
    Deleted,
    Claimed,
    /// A claim that took as many entries as one claim takes (1,000): the
    /// consumer may have more.
    ClaimedSome,
    Gone,
    NothingToClaim,
}

impl Notice {
    /// The value of the `done` query parameter.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Notice::Retried => "retried",
            Notice::Deleted => "deleted",
            Notice::Claimed => "claimed",
            Notice::ClaimedSome => "claimed-some",
            Notice::Gone => "gone",
            Notice::NothingToClaim => "nothing-to-claim",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Notice> {
        [
            Notice::Retried,
            Notice::Deleted,
            Notice::Claimed,
            Notice::ClaimedSome,
            Notice::Gone,
            Notice::NothingToClaim,
        ]
        .into_iter()
        .find(|n| n.as_str() == value)
    }

    fn message(self) -> (&'static str, &'static str) {
        match self {
            Notice::Retried => ("ok", "The entry was appended back to its stream."),
            Notice::Deleted => ("ok", "The entry was deleted."),
            Notice::Claimed => ("ok", "The entries were claimed."),
            Notice::ClaimedSome => (
                "warn",
                "1,000 entries were claimed, as many as one claim takes: claim again for the rest.",
            ),
            Notice::Gone => (
                "warn",
                "That entry is no longer there (retried or deleted already).",
            ),
            Notice::NothingToClaim => ("warn", "That consumer had no pending entries."),
        }
    }
}

/// A whole page: the layout around `body`.
pub(crate) fn page(layout: &Layout<'_>, body: &str) -> String {
    let home = if layout.base.is_empty() {
        "/"
    } else {
        layout.base
    };
    let mut h = Html::new();
    h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<meta name=\"referrer\" content=\"same-origin\">")
        .raw("<title>")
        .text(layout.title)
        .raw(" · board</title><base href=\"")
        .text(layout.base)
        .raw("/\"><link rel=\"stylesheet\" href=\"assets/board.css\"></head><body>")
        .raw("<header><a class=\"brand\" href=\"")
        .text(home)
        .raw("\">igniter-store board</a><nav>");
    for (nav, href, label) in [
        (Nav::Streams, None, "Streams"),
        (Nav::Events, Some("events"), "Live events"),
    ] {
        h.raw("<a href=\"").text(href.unwrap_or(home)).raw("\"");
        if nav == layout.nav {
            h.raw(" aria-current=\"page\"");
        }
        h.raw(">").raw(label).raw("</a>");
    }
    h.raw("</nav>");
    if layout.actions {
        h.raw("<span class=\"mode on\" title=\"retry, delete and claim are enabled\">actions on</span>");
    } else {
        h.raw("<span class=\"mode\" title=\"this board refuses every action\">read-only</span>");
    }
    h.raw("</header><main><h1>").text(layout.title).raw("</h1>");
    if let Some(notice) = layout.notice {
        let (class, text) = notice.message();
        h.raw("<p class=\"notice ")
            .raw(class)
            .raw("\" role=\"status\">")
            .raw(text)
            .raw("</p>");
    }
    h.raw(body).raw("</main></body></html>\n");
    h.into_string()
}

/// The time an entry id (`<ms>-<seq>`) was made, in UTC
/// (`2026-11-26 05:39:29`), or `None` for an id of another form.
pub(crate) fn id_time(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    seq.parse::<u64>().ok()?;
    let ms: u64 = ms.parse().ok()?;
    Some(utc(ms / 1000))
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration for people: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`,
/// `3 d 4 h`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    let secs = d.as_secs();
    if ms < 1000 {
        format!("{ms} ms")
    } else if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else if secs < 86_400 {
        format!("{} h {} min", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600)
    }
}

/// How a payload is shown: pretty JSON when it is JSON, else its text; at
/// most `limit` bytes of it (cut at a character boundary), and whether it
/// was cut.
pub(crate) fn payload_text(raw: &[u8], limit: usize) -> (String, bool) {
    // Pretty-printing a huge value only to cut it is a waste: past 16 times
    // the limit, the stored bytes are shown as they are.
    let pretty = if raw.len() <= limit.saturating_mul(16) {
        serde_json::from_slice::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
    } else {
        None
    };
    match pretty {
        Some(text) => cut_at(text, limit, false),
        None => {
            let n = raw.len().min(limit.saturating_add(4));
            cut_at(
                String::from_utf8_lossy(&raw[..n]).into_owned(),
                limit,
                n < raw.len(),
            )
        }
    }
}

/// A decoded payload as pretty JSON, cut at `limit` bytes: the text, and
/// whether it was cut.
pub(crate) fn value_text(value: &serde_json::Value, limit: usize) -> (String, bool) {
    cut_at(
        serde_json::to_string_pretty(value).unwrap_or_default(),
        limit,
        false,
    )
}

/// `text` cut at `limit` bytes (on a character boundary); whether it was cut
/// there or `already_cut` before.
fn cut_at(text: String, limit: usize, already_cut: bool) -> (String, bool) {
    if text.len() <= limit && !already_cut {
        return (text, false);
    }
    let mut cut = limit.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (text[..cut].to_owned(), true)
}

/// A payload as a `<pre>` block, escaped, with a note when it was cut.
pub(crate) fn payload(h: &mut Html, raw: Option<&[u8]>, limit: usize) {
    match raw {
        None => {
            h.raw("<span class=\"muted\">no <code>data</code> field</span>");
        }
        Some(raw) => {
            let (text, truncated) = payload_text(raw, limit);
            h.raw("<pre class=\"payload\">").text(&text).raw("</pre>");
            if truncated {
                h.raw("<span class=\"truncated\">truncated: ")
                    .num(raw.len())
                    .raw(" bytes stored, ")
                    .num(limit)
                    .raw(" shown</span>");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        let mut h = Html::new();
        h.text(text);
        h.into_string()
    }

    #[test]
    fn escape_replaces_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("jobs:resize é"), "jobs:resize é");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn path_segments_keep_one_segment() {
        assert_eq!(path_segment("jobs:resize"), "jobs:resize");
        assert_eq!(path_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(path_segment("é"), "%C3%A9");
        assert_eq!(path_segment("<\"'>"), "%3C%22%27%3E");
    }

    #[test]
    fn ids_read_as_utc_times() {
        assert_eq!(id_time("0-0").as_deref(), Some("1970-01-01 00:00:00"));
        assert_eq!(
            id_time("1700000000123-4").as_deref(),
            Some("2023-11-14 22:13:20")
        );
        // a leap day
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59");
        assert_eq!(id_time("nope"), None);
        assert_eq!(id_time("1-x"), None);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration(Duration::from_millis(12_400)), "12.4 s");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 5 s");
        assert_eq!(duration(Duration::from_secs(7800)), "2 h 10 min");
        assert_eq!(duration(Duration::from_secs(273_600)), "3 d 4 h");
    }

    #[test]
    fn payloads_are_pretty_json_or_text_and_capped() {
        let (text, cut) = payload_text(br#"{"a":1}"#, 100);
        assert_eq!((text.as_str(), cut), ("{\n  \"a\": 1\n}", false));
        let (text, cut) = payload_text(b"{not json", 100);
        assert_eq!((text.as_str(), cut), ("{not json", false));

        let big = serde_json::to_vec(&"x".repeat(10_000)).unwrap();
        let (text, cut) = payload_text(&big, 4096);
        assert!(cut);
        assert_eq!(text.len(), 4096);

        // Far past the limit: not parsed, cut all the same.
        let huge = serde_json::to_vec(&"y".repeat(200_000)).unwrap();
        let (text, cut) = payload_text(&huge, 100);
        assert!(cut);
        assert_eq!(text.len(), 100);

        // Cut at a character boundary.
        let (text, cut) = payload_text("ééé".as_bytes(), 3);
        assert_eq!((text.as_str(), cut), ("é", true));
    }

    #[test]
    fn payload_html_is_escaped() {
        let mut h = Html::new();
        payload(
            &mut h,
            Some(br#"{"html":"<script>alert(1)</script>"}"#),
            4096,
        );
        let html = h.into_string();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
