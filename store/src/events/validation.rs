//! Validation beyond the type, with `garde` (feature `garde`).

use crate::error::{ErrorCode, StoreError, StoreResult};

/// Checks `value` against its rules.
pub(super) fn check<T>(value: &T) -> StoreResult<()>
where
    T: garde::Validate,
    T::Context: Default,
{
    value.validate().map_err(|report| {
        // The paths and rules broken go in the details, which telemetry never
        // records; the message stays generic.
        let violations: Vec<serde_json::Value> = report
            .iter()
            .map(|(path, error)| {
                serde_json::json!({ "path": path.to_string(), "message": error.message() })
            })
            .collect();
        StoreError::new(
            ErrorCode::SchemaValidationFailed,
            "the payload breaks its validation rules",
        )
        .with_detail("violations", violations)
    })
}
