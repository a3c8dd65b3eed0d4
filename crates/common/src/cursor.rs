//! Opaque page cursors: a position serialised to JSON and base64url-encoded, so clients pass it
//! back unchanged and cannot build one by hand. A cursor that does not decode to the expected
//! position is refused with 400 `invalid_cursor` (docs/contract.md §4: forged cursors).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The cursor for `position`.
pub fn encode<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The position of a cursor this API issued, or 400 `invalid_cursor`.
pub fn decode<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid)
}

/// 400 `invalid_cursor`: for a cursor that decodes but names no valid position.
pub fn invalid() -> ApiError {
    ApiError::bad_request("invalid_cursor", "the cursor is not one this API issued")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Position {
        t: i64,
        id: String,
    }

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let position = Position {
            t: 42,
            id: "x".into(),
        };
        let cursor = encode(&position);
        assert_eq!(decode::<Position>(&cursor).unwrap(), position);
        for forged in ["", "not base64!", &encode(&"a string"), &cursor[1..]] {
            assert!(
                decode::<Position>(forged).is_err(),
                "{forged:?} was accepted"
            );
        }
    }
}
