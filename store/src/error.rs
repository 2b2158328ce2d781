//! [`StoreError`] and its stable [`ErrorCode`]s.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

/// A boxed error source, kept so the cause of a failure is never lost.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result of every fallible operation of the store.
pub type StoreResult<T> = Result<T, StoreError>;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// The stable code of a [`StoreError`].
        ///
        /// The strings ([`ErrorCode::as_str`]) are those of the TypeScript
        /// package `@igniter-js/store` where it has the same failure, and
        /// follow its scheme where it has none. They never change once
        /// released; new codes may be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as the stable string, e.g. `"STORE_TTL_INVALID"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

codes! {
    /// The builder was given no adapter.
    AdapterRequired => "STORE_ADAPTER_REQUIRED",
    /// The builder was given no service name.
    ServiceRequired => "STORE_SERVICE_REQUIRED",
    /// The builder's configuration is not valid (service name, key prefix).
    ConfigurationInvalid => "STORE_CONFIGURATION_INVALID",
    /// Two scopes of one scope set share a key.
    DuplicateScope => "STORE_DUPLICATE_SCOPE",
    /// A scope key breaks the name rules.
    InvalidScopeKey => "STORE_INVALID_SCOPE_KEY",
    /// A scope key was empty.
    ScopeKeyRequired => "STORE_SCOPE_KEY_REQUIRED",
    /// A scope identifier was empty.
    ScopeIdentifierRequired => "STORE_SCOPE_IDENTIFIER_REQUIRED",
    /// The operation needs a scope that is not in the store's chain.
    ScopeRequired => "STORE_SCOPE_REQUIRED",
    /// A scope set is not valid (more than 64 scopes).
    ScopeInvalid => "STORE_SCOPE_INVALID",
    /// A scope was added to a chain out of its declaration order, or twice:
    /// `details.scopeKey` is the scope refused, `details.after` the last one
    /// of the chain.
    ScopeOrder => "STORE_SCOPE_ORDER",
    /// A key was empty.
    KeyRequired => "STORE_KEY_REQUIRED",
    /// A TTL was zero or too large.
    TtlInvalid => "STORE_TTL_INVALID",
    /// An encoded value is longer than the store's `max_value_size`;
    /// `details.size` and `details.limit` say by how much.
    ValueTooLarge => "STORE_VALUE_TOO_LARGE",
    /// A value could not be serialized.
    SerializationFailed => "STORE_SERIALIZATION_FAILED",
    /// A stored value could not be decoded as the requested type.
    DeserializationFailed => "STORE_DESERIALIZATION_FAILED",
    /// The value at a counter's key is not an integer.
    ValueNotInteger => "STORE_VALUE_NOT_INTEGER",
    /// A counter would overflow an `i64`.
    CounterOverflow => "STORE_COUNTER_OVERFLOW",
    /// The key holds a value of another type (e.g. a stream).
    WrongType => "STORE_WRONG_TYPE",
    /// An operation failed in the adapter for a reason without a code of its own.
    OperationFailed => "STORE_OPERATION_FAILED",
    /// A read failed.
    GetFailed => "STORE_GET_FAILED",
    /// A write failed.
    SetFailed => "STORE_SET_FAILED",
    /// A delete failed.
    DeleteFailed => "STORE_DELETE_FAILED",
    /// A counter operation failed.
    IncrementFailed => "STORE_INCREMENT_FAILED",
    /// A batch operation failed.
    BatchFailed => "STORE_BATCH_FAILED",
    /// A batch across Redis Cluster slots was written in some slots and not
    /// in others; `details.written`, `details.notWritten` and
    /// `details.unknown` (a slot whose node timed out) list the keys.
    BatchPartial => "STORE_BATCH_PARTIAL",
    /// A claim operation failed.
    ClaimFailed => "STORE_CLAIM_FAILED",
    /// A scan failed.
    ScanFailed => "STORE_SCAN_FAILED",
    /// A scan was given an empty pattern.
    ScanPatternRequired => "STORE_SCAN_PATTERN_REQUIRED",
    /// A purge failed.
    PurgeFailed => "STORE_PURGE_FAILED",
    /// The backend could not be reached.
    ConnectionFailed => "STORE_CONNECTION_FAILED",
    /// The adapter was closed.
    NotConnected => "STORE_NOT_CONNECTED",
    /// The operation did not finish within the store's deadline.
    Timeout => "STORE_TIMEOUT",
    /// A namespace of events breaks the name rules.
    InvalidNamespace => "STORE_INVALID_NAMESPACE",
    /// A namespace of events is reserved (`igniter`, `ign`, `__...`).
    ReservedNamespace => "STORE_RESERVED_NAMESPACE",
    /// A namespace of events was registered twice.
    DuplicateNamespace => "STORE_DUPLICATE_NAMESPACE",
    /// An event or group name breaks the name rules.
    InvalidEventName => "STORE_INVALID_EVENT_NAME",
    /// An event is declared twice in a namespace.
    DuplicateEvent => "STORE_DUPLICATE_EVENT",
    /// A message arrived on a channel that its namespace does not declare.
    SchemaChannelNotFound => "STORE_SCHEMA_CHANNEL_NOT_FOUND",
    /// A payload failed its validation rules.
    SchemaValidationFailed => "STORE_SCHEMA_VALIDATION_FAILED",
    /// A publish failed.
    PublishFailed => "STORE_PUBLISH_FAILED",
    /// A subscribe failed.
    SubscribeFailed => "STORE_SUBSCRIBE_FAILED",
    /// A subscriber fell behind and lost messages; `details.lost` says how many.
    SubscriberLagged => "STORE_SUBSCRIBER_LAGGED",
    /// A stream append failed.
    StreamAppendFailed => "STORE_STREAM_APPEND_FAILED",
    /// A stream read failed.
    StreamReadFailed => "STORE_STREAM_READ_FAILED",
    /// Creating a consumer group failed.
    StreamGroupCreateFailed => "STORE_STREAM_GROUP_CREATE_FAILED",
    /// Acknowledging stream entries failed.
    StreamAckFailed => "STORE_STREAM_ACK_FAILED",
    /// Another stream operation failed.
    StreamOperationFailed => "STORE_STREAM_OPERATION_FAILED",
    /// A stream name was empty.
    StreamNameRequired => "STORE_STREAM_NAME_REQUIRED",
    /// A group name was empty.
    StreamGroupRequired => "STORE_STREAM_GROUP_REQUIRED",
    /// A consumer name was empty.
    StreamConsumerRequired => "STORE_STREAM_CONSUMER_REQUIRED",
    /// The consumer group does not exist (`NOGROUP`): call `ensure` first.
    StreamGroupNotFound => "STORE_STREAM_GROUP_NOT_FOUND",
    /// A stream id is not valid.
    StreamIdInvalid => "STORE_STREAM_ID_INVALID",
    /// An entry cannot be moved atomically between two streams in different
    /// Redis Cluster slots (`Streams::move_entry`): nothing was moved. Give
    /// the store a scope hash tag (`StoreBuilder::scope_hash_tag`) to keep a
    /// tenant's streams in one slot.
    StreamCrossSlot => "STORE_STREAM_CROSS_SLOT",
    /// An actor key is declared twice.
    DuplicateActor => "STORE_DUPLICATE_ACTOR",
    /// An actor key breaks the name rules.
    InvalidActorKey => "STORE_INVALID_ACTOR_KEY",
    /// An actor key was empty.
    ActorKeyRequired => "STORE_ACTOR_KEY_REQUIRED",
    /// An actor identifier was empty.
    ActorIdentifierRequired => "STORE_ACTOR_IDENTIFIER_REQUIRED",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the store: a stable [`code`](StoreError::code), a message that
/// never holds a key, a value or an identifier, optional structured
/// [`details`](StoreError::details), and the underlying cause as
/// [`source`](std::error::Error::source).
///
/// ```
/// use igniter_store::{ErrorCode, StoreError};
///
/// let err = StoreError::new(ErrorCode::TtlInvalid, "a TTL must be longer than zero");
/// assert_eq!(err.code(), ErrorCode::TtlInvalid);
/// assert_eq!(err.code().as_str(), "STORE_TTL_INVALID");
/// ```
///
/// One pointer wide (its contents are boxed, as `std::io::Error`'s are), so
/// that a `StoreResult<T>` is hardly larger than a `T` on the path where
/// nothing fails.
#[derive(thiserror::Error)]
#[error(transparent)]
#[non_exhaustive]
pub struct StoreError {
    inner: Box<Inner>,
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
struct Inner {
    code: ErrorCode,
    message: Cow<'static, str>,
    details: Option<Box<Map<String, Value>>>,
    #[source]
    source: Option<BoxError>,
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("code", &self.inner.code)
            .field("message", &self.inner.message)
            .field("details", &self.inner.details)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StoreError {
    /// An error with `code` and `message`. The message must not hold keys,
    /// values or identifiers: it is recorded in telemetry.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        StoreError {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                details: None,
                source: None,
            }),
        }
    }

    /// Adds the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Adds one structured detail (for example `availableScopes`).
    #[must_use]
    pub fn with_detail(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.inner
            .details
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.inner.code
    }

    /// The message, free of keys, values and identifiers.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Structured details, when the error has any.
    pub fn details(&self) -> Option<&Map<String, Value>> {
        self.inner.details.as_deref()
    }

    /// Rewrites every string of the array details `fields` with `f` (the
    /// store turns an adapter's full keys into the caller's keys).
    pub(crate) fn map_detail_strings(
        mut self,
        fields: &[&str],
        f: impl Fn(&str) -> String,
    ) -> Self {
        if let Some(details) = self.inner.details.as_deref_mut() {
            for field in fields {
                if let Some(Value::Array(items)) = details.get_mut(*field) {
                    for item in items.iter_mut() {
                        if let Value::String(s) = item {
                            *s = f(s);
                        }
                    }
                }
            }
        }
        self
    }

    /// The same error with another message (the Redis adapters name the
    /// server that failed).
    #[cfg(feature = "redis")]
    pub(crate) fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// Replaces a generic [`ErrorCode::OperationFailed`] with the code of the
    /// operation that failed; specific codes (timeouts, connection failures,
    /// type errors) are kept.
    pub(crate) fn for_operation(mut self, code: ErrorCode) -> Self {
        if self.inner.code == ErrorCode::OperationFailed {
            self.inner.code = code;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_pointer_wide_and_keeps_its_parts() {
        assert_eq!(
            std::mem::size_of::<StoreError>(),
            std::mem::size_of::<usize>()
        );
        assert_eq!(
            std::mem::size_of::<StoreResult<()>>(),
            std::mem::size_of::<usize>()
        );
        let cause = std::io::Error::other("refused");
        let e = StoreError::new(ErrorCode::NotConnected, "no server")
            .with_detail("attempts", 3)
            .with_source(cause)
            .for_operation(ErrorCode::GetFailed);
        assert_eq!(e.code(), ErrorCode::NotConnected);
        assert_eq!(e.to_string(), "STORE_NOT_CONNECTED: no server");
        assert_eq!(
            e.details().and_then(|d| d.get("attempts")),
            Some(&Value::from(3))
        );
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("refused"));
        let generic =
            StoreError::new(ErrorCode::OperationFailed, "x").for_operation(ErrorCode::GetFailed);
        assert_eq!(generic.code(), ErrorCode::GetFailed);
        assert!(format!("{e:?}").starts_with("StoreError { code: NotConnected"));
    }
}
