//! The envelope of the TypeScript package, and [`EventContext`], what a
//! subscriber receives.
//!
//! ```text
//! {"type":"user:created","data":{..},"timestamp":"2026-11-26T05:39:29.123Z",
//!  "scope":{"key":"organization","identifier":"org_123"},
//!  "scopes":[..],                                   (when the chain is deeper than one)
//!  "actor":{"key":"user","identifier":"u_1"}}       (when published by an actor handle)
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A scope as the envelope carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventScope {
    /// The scope key, e.g. `"organization"`.
    pub key: String,
    /// The identifier, as given to `scope()` (not escaped).
    pub identifier: String,
}

impl fmt::Debug for EventScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Identifiers are tenant data; keep them out of logs by default.
        f.debug_struct("EventScope")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The actor of an event, as the envelope carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    /// The actor key, e.g. `"user"`.
    pub key: String,
    /// The identifier, as given to `actor()`.
    pub identifier: String,
}

impl fmt::Debug for EventActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventActor")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One received event: the payload and its envelope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventContext<T> {
    /// The envelope's `type`: the event name, e.g. `"user:created"`.
    pub event_type: String,
    /// The payload.
    pub data: T,
    /// When it was published: ISO-8601, UTC, milliseconds
    /// (`2026-11-26T05:39:29.123Z`). For a raw message (not an envelope), when
    /// it was received.
    pub timestamp: String,
    /// The innermost scope of the publisher, if it had one.
    pub scope: Option<EventScope>,
    /// The publisher's whole scope chain, outermost first, when the envelope
    /// carries it (this crate adds it for chains deeper than one).
    pub scopes: Vec<EventScope>,
    /// Who published it, when published through an actor handle.
    pub actor: Option<EventActor>,
}

#[derive(Serialize)]
pub(crate) struct OutEnvelope<'a, T: ?Sized> {
    #[serde(rename = "type")]
    pub(crate) event_type: &'a str,
    pub(crate) data: &'a T,
    pub(crate) timestamp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<ScopeOut<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(crate) scopes: &'a [ScopeOut<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) actor: Option<ScopeOut<'a>>,
}

#[derive(Serialize, Clone, Copy)]
pub(crate) struct ScopeOut<'a> {
    pub(crate) key: &'a str,
    pub(crate) identifier: &'a str,
}

/// An incoming envelope; `data` kept raw so it is decoded straight into the
/// subscriber's type.
#[derive(Deserialize)]
pub(crate) struct InEnvelope<'a> {
    #[serde(rename = "type")]
    pub(crate) event_type: Option<String>,
    #[serde(borrow)]
    pub(crate) data: Option<&'a RawValue>,
    pub(crate) timestamp: Option<String>,
    #[serde(default)]
    pub(crate) scope: Option<EventScope>,
    #[serde(default)]
    pub(crate) scopes: Option<Vec<EventScope>>,
    #[serde(default)]
    pub(crate) actor: Option<EventActor>,
}

/// Decodes one message for a subscriber: a TypeScript envelope whose data
/// decodes with `decode_data`; else the whole message as the payload, wrapped
/// as the TypeScript package wraps raw messages (type = `event`, timestamp =
/// now). When neither decodes: why, as serde said it (the envelope's data's
/// error for an envelope, the payload's otherwise; prefixed with `data.`
/// for an envelope by `decode_data`'s caller).
pub(crate) fn decode_message<T>(
    payload: &[u8],
    event: &str,
    decode_data: impl Fn(&RawValue) -> Result<T, serde_json::Error>,
) -> Result<EventContext<T>, DecodeError> {
    if let Ok(envelope) = serde_json::from_slice::<InEnvelope<'_>>(payload)
        && let (Some(event_type), Some(data), Some(timestamp)) =
            (envelope.event_type, envelope.data, envelope.timestamp)
    {
        // An envelope: its data is the payload, or the message is bad. It is
        // never read as a raw payload instead, which could fit a lenient type.
        return decode_data(data)
            .map(|data| EventContext {
                event_type,
                data,
                timestamp,
                scope: envelope.scope,
                scopes: envelope.scopes.unwrap_or_default(),
                actor: envelope.actor,
            })
            .map_err(|e| DecodeError {
                in_envelope: true,
                error: e,
            });
    }
    let whole: &RawValue = serde_json::from_slice(payload).map_err(|e| DecodeError {
        in_envelope: false,
        error: e,
    })?;
    let data = decode_data(whole).map_err(|e| DecodeError {
        in_envelope: false,
        error: e,
    })?;
    Ok(EventContext {
        event_type: event.to_owned(),
        data,
        timestamp: now_iso8601(),
        scope: None,
        scopes: Vec::new(),
        actor: None,
    })
}

/// Why a message did not decode: serde's error, and whether it is about an
/// envelope's `data` (else the whole message).
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) in_envelope: bool,
    pub(crate) error: serde_json::Error,
}

/// Now as ISO-8601 UTC with milliseconds, the TypeScript package's
/// `new Date().toISOString()`.
pub(crate) fn now_iso8601() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso8601(since.as_secs(), since.subsec_millis())
}

/// Formats seconds since the epoch (and milliseconds) as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn iso8601(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(iso8601(1_795_663_169, 123), "2026-11-26T03:19:29.123Z");
        assert_eq!(iso8601(4_102_444_799, 999), "2099-12-31T23:59:59.999Z");
    }
}
