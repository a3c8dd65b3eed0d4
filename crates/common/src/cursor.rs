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

/// Ends a page fetched with one row more than `limit`: cuts `rows` to `limit` and, when there
/// was more, returns the cursor of its last row (`cursor_of`); `None` on the last page.
pub fn next_page<T>(
    rows: &mut Vec<T>,
    limit: i64,
    cursor_of: impl FnOnce(&T) -> String,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(cursor_of)
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
    fn a_page_is_cut_to_its_limit_and_names_its_last_row_only_when_there_is_more() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(
            next_page(&mut rows, 2, |last| last.to_string()),
            Some("2".into())
        );
        assert_eq!(rows, [1, 2]);
        let mut last_page = vec![1, 2];
        assert_eq!(next_page(&mut last_page, 2, |last| last.to_string()), None);
        assert_eq!(last_page, [1, 2]);
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
