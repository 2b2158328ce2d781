//! The checks every operation makes before any I/O: required scopes, keys,
//! TTLs and value sizes.

use std::time::Duration;

use super::Core;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::serializer::Serializer;

impl<Z: Serializer> Core<Z> {
    /// Fails with `STORE_VALUE_TOO_LARGE` past `max_value_size`.
    pub(crate) fn check_size(&self, size: usize) -> StoreResult<()> {
        match self.shared.max_value_size {
            Some(limit) if size > limit => Err(StoreError::new(
                ErrorCode::ValueTooLarge,
                "the encoded value is longer than the store's max_value_size",
            )
            .with_detail("size", size)
            .with_detail("limit", limit)),
            _ => Ok(()),
        }
    }

    /// Fails with `STORE_SCOPE_REQUIRED` when the chain lacks a required scope.
    pub(crate) fn check_required(&self) -> StoreResult<()> {
        let missing = self.shared.required & !self.chain.present;
        if missing == 0 {
            return Ok(());
        }
        let names: Vec<&str> = (0..self.shared.scopes.len())
            .filter(|i| missing & (1 << i) != 0)
            .map(|i| self.shared.scopes[i].key())
            .collect();
        Err(StoreError::new(
            ErrorCode::ScopeRequired,
            format!(
                "the store's scope chain lacks the required scope `{}`",
                names.join("`, `")
            ),
        )
        .with_detail("missingScopes", names))
    }

    /// The checks every operation on a key makes: the required scopes are
    /// there and the key is not empty.
    pub(crate) fn check(&self, key: &str) -> StoreResult<()> {
        self.check_required()?;
        check_key(key)
    }
}

#[inline]
pub(crate) fn check_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::new(
            ErrorCode::KeyRequired,
            "a key must not be empty",
        ));
    }
    Ok(())
}

/// Checks a TTL: at least one millisecond (TTLs are sent as whole
/// milliseconds, rounded up) and at most 100 years. Zero is an error, never
/// "forever".
pub(crate) fn check_ttl(ttl: Duration) -> StoreResult<Duration> {
    const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    if ttl.is_zero() {
        return Err(StoreError::new(
            ErrorCode::TtlInvalid,
            "a TTL must be longer than zero",
        ));
    }
    if ttl > MAX {
        return Err(StoreError::new(
            ErrorCode::TtlInvalid,
            "a TTL must be at most 100 years",
        ));
    }
    Ok(Duration::from_millis(crate::adapter::ceil_millis(ttl)))
}
