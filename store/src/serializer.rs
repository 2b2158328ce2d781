//! How values become bytes: the [`Serializer`] trait and [`JsonSerializer`],
//! the default.

use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::finite::Finite;

/// Encodes values before they reach the adapter and decodes what it returns.
/// Every operation of the store that carries a value goes through it: kv,
/// batches, claim owners.
///
/// A serializer's errors must not quote the value: their messages reach
/// telemetry. Keep the cause as the error's source instead.
pub trait Serializer: Send + Sync + 'static {
    /// Encodes `value`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> StoreResult<Bytes>;

    /// Decodes `bytes` as a `T`.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> StoreResult<T>;

    /// Appends the encoding of `value` to `out`: many values into one
    /// buffer (batches), or a value into a buffer that is reused (a set on
    /// Redis). It must append exactly the bytes [`Serializer::encode`]
    /// returns; the default copies them. On failure `out` may hold part of
    /// the value.
    fn encode_into<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> StoreResult<()> {
        out.extend_from_slice(&self.encode(value)?);
        Ok(())
    }
}

/// JSON through `serde_json`, compatible with the TypeScript package.
///
/// NaN and infinities are refused (`STORE_SERIALIZATION_FAILED`) rather than
/// written as `null`, which `serde_json` would do: they would not read back.
///
/// Decoding follows the TypeScript package for values other services wrote:
/// bytes that are not JSON are read as a JSON string holding them, so
/// `get::<String>` reads a raw string value.
///
/// ```
/// use igniter_store::{JsonSerializer, Serializer};
///
/// let bytes = JsonSerializer.encode(&vec![1, 2]).unwrap();
/// assert_eq!(&bytes[..], b"[1,2]");
/// let raw: String = JsonSerializer.decode(b"not json").unwrap();
/// assert_eq!(raw, "not json");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonSerializer;

impl Serializer for JsonSerializer {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> StoreResult<Bytes> {
        // Encoded in a buffer of the thread, then copied into a value of
        // exactly its size: one allocation, where `to_vec` then
        // `Bytes::from` make two (the vector grows, and `Bytes` allocates a
        // shared header for a vector with spare capacity).
        thread_local! {
            static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let in_scratch = SCRATCH.try_with(|scratch| {
            let mut buffer = scratch.try_borrow_mut().ok()?;
            buffer.clear();
            let encoded = serde_json::to_writer(&mut *buffer, &Finite(value))
                .map(|()| Bytes::copy_from_slice(&buffer))
                .map_err(encode_error);
            if buffer.capacity() > SCRATCH_CAPACITY {
                *buffer = Vec::new();
            }
            Some(encoded)
        });
        match in_scratch {
            Ok(Some(encoded)) => encoded,
            // A `Serialize` impl that itself encodes with this serializer,
            // or a thread whose locals are being destroyed.
            _ => serde_json::to_vec(&Finite(value))
                .map(Bytes::from)
                .map_err(encode_error),
        }
    }

    fn encode_into<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> StoreResult<()> {
        serde_json::to_writer(out, &Finite(value)).map_err(encode_error)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> StoreResult<T> {
        match serde_json::from_slice(bytes) {
            Ok(value) => Ok(value),
            Err(e) if e.is_syntax() || e.is_eof() => std::str::from_utf8(bytes)
                .ok()
                .and_then(|raw| T::deserialize(serde_json::Value::String(raw.to_owned())).ok())
                .ok_or_else(|| decode_error(e)),
            Err(e) => Err(decode_error(e)),
        }
    }
}

/// The largest scratch buffer [`JsonSerializer::encode`] keeps per thread.
const SCRATCH_CAPACITY: usize = 64 * 1024;

fn encode_error(e: serde_json::Error) -> StoreError {
    StoreError::new(
        ErrorCode::SerializationFailed,
        "the value could not be serialized as JSON",
    )
    .with_source(e)
}

fn decode_error(e: serde_json::Error) -> StoreError {
    StoreError::new(
        ErrorCode::DeserializationFailed,
        "the stored value could not be decoded as the requested type",
    )
    .with_source(e)
}
