//! `POST|PUT /v1.0-alpha1/publish/bulk/{pubsub}/{topic}` as daprd answers it
//! (docs/dapr-behaviour.md §1.5; dapr/dapr `pkg/api/http/http.go` `onBulkPublish`,
//! `pkg/api/http/util.go` `ConvertEventToBytes`, `pkg/runtime/pubsub/publisher`, contrib
//! `common/component/kafka/producer.go` `BulkPublish`):
//!
//! * the body is a bare JSON array of `{entryId, event, contentType, metadata}`; anything else
//!   is 400 `ERR_PUBSUB_EVENTS_SER`, and so is an entry whose `event` does not fit its
//!   `contentType` (JSON types take any JSON value, `text/*` and `application/xml` a string,
//!   `application/octet-stream` a base64 string, any other type — or none — nothing) or whose
//!   `entryId` is empty or repeated. Every entry is checked before anything is produced;
//! * each entry gets the envelope a single publish of it would get, with the entry's own
//!   metadata merged over the request's (`?metadata.*`) — but only when the entry has
//!   metadata; `rawPayload` is read from the request alone;
//! * the broker's key is the entry's `partitionKey`; on Kafka a request-level `partitionKey`
//!   overrides every entry's (the component copies the request's metadata over the entry's);
//! * 204 with no body when every entry was produced, else 500 with
//!   `{"failedEntries":[{"entryId","error"}],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}` listing
//!   only the failed entries, in request order. The rest were produced.
//!
//! daprd promises no order among the entries of one request (its default bulk publisher sends
//! them concurrently; Kafka's producer is not idempotent), so a publisher that needs an order
//! puts at most one entry per ordering key in a request. This sidecar produces them in request
//! order, which is one of the orders daprd may choose.

use std::collections::{BTreeMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::envelope::{self, PublishInput};
use crate::server::{Sidecar, api_error, envelope_refusal, produce, pubsub_refusal};

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "entryId", default)]
    entry_id: String,
    /// As sent: parsed only where its content type needs a value out of it (a JSON event is
    /// parsed once more anyway, when its envelope is built).
    #[serde(default = "null_event")]
    event: Box<RawValue>,
    #[serde(rename = "contentType", default)]
    content_type: String,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

fn null_event() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

fn events_error(message: String) -> Response {
    api_error(StatusCode::BAD_REQUEST, "ERR_PUBSUB_EVENTS_SER", message)
}

/// The bytes daprd makes of an entry's `event` for its `contentType`, or `None` when the two do
/// not fit (`ConvertEventToBytes`). `raw`: the bytes go to the broker as they are, so a JSON
/// event is written out again as daprd's `json.Marshal` does (keys in order, no whitespace);
/// otherwise they are an envelope's input, which [`envelope::build`] parses and writes itself.
fn event_bytes(entry: &Entry, raw: bool) -> Option<Vec<u8>> {
    let media_type = entry
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let text = || serde_json::from_str::<String>(entry.event.get()).ok();
    if media_type == "application/json" || media_type.ends_with("+json") {
        if raw {
            serde_json::from_str::<Value>(entry.event.get())
                .and_then(|event| serde_json::to_vec(&event))
                .ok()
        } else {
            Some(entry.event.get().as_bytes().to_vec())
        }
    } else if media_type.starts_with("text/") || media_type == "application/xml" {
        text().map(String::into_bytes)
    } else if media_type == "application/octet-stream" {
        base64::engine::general_purpose::STANDARD
            .decode(text()?)
            .ok()
    } else {
        None
    }
}

fn without_raw_payload(metadata: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut metadata = metadata.clone();
    metadata.remove("rawPayload");
    metadata
}

pub async fn bulk_publish(
    State(s): State<Sidecar>,
    Path((pubsub, topic)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = pubsub_refusal(&s, &pubsub, &topic) {
        return refused;
    }
    let mut request_metadata: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in query {
        if let Some(key) = key.strip_prefix("metadata.") {
            // The first value of a repeated key counts, as `getMetadataFromRequest` reads it.
            request_metadata.entry(key.to_owned()).or_insert(value);
        }
    }
    let raw = match request_metadata.get("rawPayload") {
        Some(value) => match envelope::parse_go_bool(value) {
            Some(raw) => raw,
            None => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "ERR_PUBSUB_REQUEST_METADATA",
                    format!(
                        "failed deserializing metadata. rawPayload value is not a bool: {value}"
                    ),
                );
            }
        },
        None => false,
    };
    let entries: Vec<Entry> = match serde_json::from_slice::<Option<Vec<Entry>>>(&body) {
        Ok(entries) => entries.unwrap_or_default(),
        Err(error) => {
            return events_error(format!(
                "error when unmarshaling the request for topic {topic} pubsub {pubsub}: {error}"
            ));
        }
    };
    let mut seen = HashSet::new();
    let mut events = Vec::with_capacity(entries.len());
    for entry in &entries {
        let Some(bytes) = event_bytes(entry, raw) else {
            return events_error(format!(
                "error when marshaling cloud event envelope for topic {topic} pubsub {pubsub}: error: mismatch between contentType and event"
            ));
        };
        if entry.entry_id.is_empty() || !seen.insert(entry.entry_id.as_str()) {
            return events_error(format!(
                "error when marshaling message for topic {topic} pubsub {pubsub}: entryId is duplicated or not present for entry"
            ));
        }
        events.push(bytes);
    }
    let kafka = s
        .shared
        .component(&pubsub)
        .is_some_and(|c| c.type_name == "pubsub.kafka");
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut messages = Vec::with_capacity(entries.len());
    for (entry, bytes) in entries.iter().zip(events) {
        // The request's metadata reaches an entry only if the entry has metadata of its own
        // (`PopulateMetadataForBulkPublishEntry`), the entry's keys winning.
        let mut metadata = match &entry.metadata {
            Some(own) => {
                let mut merged = request_metadata.clone();
                merged.extend(own.clone());
                merged
            }
            None => BTreeMap::new(),
        };
        let bytes = if raw {
            Bytes::from(bytes)
        } else {
            let input = PublishInput {
                app_id: &s.app.app_id,
                pubsub: &pubsub,
                topic: &topic,
                content_type: Some(&entry.content_type),
                body: &bytes,
                // Whether the payload is raw is the request's to say, not an entry's.
                metadata: &without_raw_payload(&metadata),
                traceparent: header_str("traceparent"),
                tracestate: header_str("tracestate"),
            };
            match envelope::build(&input) {
                Ok(built) => built.bytes,
                Err(error) => return envelope_refusal(error),
            }
        };
        if kafka {
            // contrib's Kafka `BulkPublish`: `maps.Copy(entry.Metadata, metadata)`.
            metadata.extend(request_metadata.clone());
        }
        messages.push((entry.entry_id.as_str(), metadata, bytes));
    }
    let mut failed = Vec::new();
    for (entry_id, metadata, bytes) in messages {
        match produce(&s, &pubsub, &topic).await {
            Ok(()) => {
                s.shared.broker.append(&pubsub, &topic, metadata, bytes);
            }
            Err(error) => failed.push(json!({"entryId": entry_id, "error": error})),
        }
    }
    if failed.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    tracing::warn!(app_id = %s.app.app_id, %pubsub, %topic, failed = failed.len(), "bulk publish failed in part");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(json!({"failedEntries": failed, "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"})),
    )
        .into_response()
}
