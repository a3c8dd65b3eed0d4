//! The CloudEvent envelope a publishing sidecar builds (docs/dapr-behaviour.md §1.2–1.3). The
//! publisher's
//! `Content-Type` alone decides how the body lands in the envelope.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// What one `POST /v1.0/publish/...` carried.
pub struct PublishInput<'a> {
    pub app_id: &'a str,
    pub pubsub: &'a str,
    pub topic: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// `metadata.*` query parameters with the prefix stripped.
    pub metadata: &'a BTreeMap<String, String>,
    /// The caller's W3C trace context, so the envelope joins the caller's trace.
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
}

/// The message as it goes to the broker: `bytes` are delivered unchanged to subscribers.
pub struct Envelope {
    pub bytes: Bytes,
    pub value: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{0}")]
    BadMetadata(String),
    #[error("{0}")]
    CloudEventSerialization(String),
}

/// Go's `strconv.ParseBool`, which is what Dapr validates `rawPayload` with.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub fn build(input: &PublishInput<'_>) -> Result<Envelope, EnvelopeError> {
    let raw = match input.metadata.get("rawPayload") {
        Some(v) => parse_go_bool(v).ok_or_else(|| {
            EnvelopeError::BadMetadata(format!(
                "failed deserializing metadata. rawPayload value is not a bool: {v}"
            ))
        })?,
        None => false,
    };
    if raw {
        let value = serde_json::from_slice(input.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(input.body).into_owned()));
        return Ok(Envelope {
            bytes: Bytes::copy_from_slice(input.body),
            value,
        });
    }
    let media_type = input
        .content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let mut event = if media_type == "application/cloudevents+json" {
        from_cloud_event(input)?
    } else {
        wrap(input, &media_type)
    };
    if let Some(ttl) = input.metadata.get("ttlInSeconds")
        && let Ok(seconds) = ttl.parse::<i64>()
    {
        let expiration = Utc::now() + chrono::Duration::seconds(seconds);
        event.insert(
            "expiration".into(),
            expiration.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
        );
    }
    let value = Value::Object(event);
    let bytes = serde_json::to_vec(&value)
        .map_err(|e| EnvelopeError::CloudEventSerialization(e.to_string()))?;
    Ok(Envelope {
        bytes: bytes.into(),
        value,
    })
}

/// The publisher sent its own CloudEvent: Dapr keeps it, forces routing fields and fills gaps,
/// but never invents an `id`.
fn from_cloud_event(input: &PublishInput<'_>) -> Result<Map<String, Value>, EnvelopeError> {
    let mut event = match serde_json::from_slice::<Value>(input.body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(EnvelopeError::CloudEventSerialization(
                "error when unmarshalling cloud event: not a JSON object".into(),
            ));
        }
        Err(e) => {
            return Err(EnvelopeError::CloudEventSerialization(format!(
                "error when unmarshalling cloud event: {e}"
            )));
        }
    };
    event.insert("topic".into(), input.topic.into());
    event.insert("pubsubname".into(), input.pubsub.into());
    // An envelope's trace context is kept only with its `traceid`: without one, both `traceid`
    // and `traceparent` become the publish's span (contrib `pubsub/envelope.go`
    // `FromCloudEvent`).
    if !event.contains_key("traceid") {
        let traceparent = trace_context(input.traceparent);
        event.insert("traceid".into(), traceparent.clone().into());
        event.insert("traceparent".into(), traceparent.into());
    }
    for (field, value) in [
        ("time", now_rfc3339()),
        (
            "tracestate",
            input.tracestate.unwrap_or_default().to_owned(),
        ),
        ("source", "Dapr".to_owned()),
        ("type", "com.dapr.event.sent".to_owned()),
        ("specversion", "1.0".to_owned()),
    ] {
        event.entry(field).or_insert(Value::String(value));
    }
    Ok(event)
}

fn wrap(input: &PublishInput<'_>, media_type: &str) -> Map<String, Value> {
    let overrides = cloud_event_overrides(input.metadata);
    let traceparent = overrides
        .get("traceparent")
        .cloned()
        .unwrap_or_else(|| trace_context(input.traceparent));
    let mut event = json!({
        "id": overrides.get("id").cloned().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        "source": overrides.get("source").cloned().unwrap_or_else(|| source_of(input.app_id)),
        "type": overrides.get("type").cloned().unwrap_or_else(|| "com.dapr.event.sent".to_owned()),
        "specversion": "1.0",
        "datacontenttype": input.content_type.unwrap_or("text/plain"),
        "topic": input.topic,
        "pubsubname": input.pubsub,
        "traceid": overrides.get("traceid").cloned().unwrap_or_else(|| traceparent.clone()),
        "traceparent": traceparent,
        "tracestate": overrides.get("tracestate").cloned()
            .unwrap_or_else(|| input.tracestate.unwrap_or_default().to_owned()),
        "time": now_rfc3339(),
    });
    let Value::Object(ref mut map) = event else {
        return Map::new();
    };
    if let Some(subject) = overrides.get("subject") {
        map.insert("subject".into(), subject.clone().into());
    }
    let body_text = || Value::String(String::from_utf8_lossy(input.body).into_owned());
    match media_type {
        "application/json" => {
            let data = serde_json::from_slice(input.body).unwrap_or_else(|_| body_text());
            map.insert("data".into(), data);
        }
        "application/octet-stream" => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(input.body);
            map.insert("data_base64".into(), encoded.into());
        }
        _ => {
            map.insert("data".into(), body_text());
        }
    }
    std::mem::take(map)
}

fn source_of(app_id: &str) -> String {
    if app_id.is_empty() {
        "Dapr".to_owned()
    } else {
        app_id.to_owned()
    }
}

/// `metadata.cloudevent.<field>` keys, matched case-insensitively; only the fields Dapr lets a
/// publisher override.
fn cloud_event_overrides(metadata: &BTreeMap<String, String>) -> BTreeMap<&'static str, String> {
    const FIELDS: [&str; 7] = [
        "id",
        "source",
        "type",
        "subject",
        "traceid",
        "traceparent",
        "tracestate",
    ];
    let mut out = BTreeMap::new();
    for (key, value) in metadata {
        let key = key.to_ascii_lowercase();
        if let Some(field) = key.strip_prefix("cloudevent.")
            && let Some(known) = FIELDS.iter().find(|f| **f == field)
        {
            out.insert(*known, value.clone());
        }
    }
    out
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A child span of the caller's trace when it sent a valid `traceparent`, else a new trace.
fn trace_context(incoming: Option<&str>) -> String {
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    if let Some(parent) = incoming {
        let parts: Vec<&str> = parent.trim().split('-').collect();
        if let [version, trace_id, _, flags] = parts.as_slice()
            && version.len() == 2
            && trace_id.len() == 32
            && flags.len() == 2
        {
            return format!("{version}-{trace_id}-{span}-{flags}");
        }
    }
    format!("00-{}-{span}-01", uuid::Uuid::new_v4().simple())
}
