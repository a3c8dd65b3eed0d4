//! A small client for the Dapr sidecar's HTTP API (docs/dapr-behaviour.md §1, §4, §8),
//! built on reqwest. See docs/adr/0001 for why this and not the `dapr` crate.

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// What went wrong talking to the sidecar.
#[derive(Debug, thiserror::Error)]
pub enum DaprError {
    /// The sidecar could not be reached (not started yet, restarting, network).
    #[error("dapr sidecar unreachable")]
    Unavailable(#[source] reqwest::Error),
    /// A save or delete carried an ETag that no longer matches (HTTP 409).
    #[error("state etag mismatch")]
    EtagMismatch,
    /// A first-write save found the key already present.
    #[error("state key already exists")]
    AlreadyExists,
    /// The sidecar answered with an error status.
    #[error("dapr answered {status}: {code} {message}")]
    Rejected {
        /// HTTP status of the sidecar's answer.
        status: StatusCode,
        /// Dapr's `errorCode`, e.g. `ERR_PUBSUB_PUBLISH_MESSAGE`.
        code: String,
        /// Dapr's message.
        message: String,
    },
    /// The sidecar's answer could not be read.
    #[error("unreadable dapr response")]
    Decode(#[source] anyhow::Error),
}

impl DaprError {
    /// Whether trying again later can succeed (sidecar or broker down) as opposed to a request
    /// that will never be accepted.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) | Self::Decode(_) => true,
            Self::Rejected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::EtagMismatch | Self::AlreadyExists => false,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DaprErrorBody {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

/// One CloudEvent of a bulk publish ([`DaprClient::publish_cloudevents_bulk`]).
#[derive(Debug, Clone, Copy)]
pub struct BulkCloudEvent<'a> {
    /// The envelope, a serialized JSON object.
    pub envelope: &'a str,
    /// The Kafka record key (the user).
    pub partition_key: &'a str,
}

/// daprd's answer to a bulk publish that failed in part (500).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkPublishRefusal {
    #[serde(default)]
    failed_entries: Vec<FailedEntry>,
    #[serde(default)]
    error_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedEntry {
    entry_id: String,
    #[serde(default)]
    error: String,
}

/// One state item to save.
#[derive(Debug, Clone)]
pub struct StateItem {
    /// The key (without Dapr's app-id prefix).
    pub key: String,
    /// Any JSON value.
    pub value: Value,
    /// Only save if the stored ETag is this one.
    pub etag: Option<String>,
    /// Without an ETag: only save if the key is absent (Dapr `first-write` concurrency).
    pub first_write: bool,
    /// Expire the key after this long.
    pub ttl: Option<Duration>,
}

#[derive(Serialize)]
struct StateItemBody<'a> {
    key: &'a str,
    value: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Value>,
}

/// A value read from the state store with its ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEntry<T> {
    /// The stored value.
    pub value: T,
    /// Its current ETag (Redis: the version number).
    pub etag: Option<String>,
}

/// Talks to the sidecar at `http://127.0.0.1:<DAPR_HTTP_PORT>`.
#[derive(Debug, Clone)]
pub struct DaprClient {
    http: reqwest::Client,
    base_url: String,
    api_token: Option<SecretString>,
}

impl DaprClient {
    /// A client for the sidecar on `port`; `api_token` is sent as `dapr-api-token` when set.
    pub fn new(port: u16, api_token: Option<SecretString>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base_url: format!("http://127.0.0.1:{port}"),
            api_token,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.api_token {
            Some(token) => builder.header("dapr-api-token", token.expose_secret()),
            None => builder,
        }
    }

    /// Whether the sidecar's outbound side is up (`/v1.0/healthz/outbound` answers 204). This
    /// endpoint does not wait for the app, so calling it before the app serves cannot deadlock.
    pub async fn outbound_ready(&self) -> bool {
        matches!(
            self.request(reqwest::Method::GET, "/v1.0/healthz/outbound").send().await,
            Ok(response) if response.status().is_success()
        )
    }

    /// Polls [`Self::outbound_ready`] until it succeeds or `deadline` passes.
    pub async fn wait_for_outbound(&self, deadline: Duration) -> Result<(), DaprError> {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            if self.outbound_ready().await {
                return Ok(());
            }
            if started.elapsed() >= deadline {
                return Err(DaprError::Rejected {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "ERR_OUTBOUND_HEALTH_NOT_READY".to_owned(),
                    message: format!("sidecar not ready after {deadline:?}"),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Publishes a CloudEvent we built ourselves, so Dapr keeps our `id`, `type` and `source`
    /// instead of wrapping it (§1.2), keyed by `partition_key` so a user's events stay ordered.
    #[tracing::instrument(skip_all, fields(pubsub, topic, partition_key))]
    pub async fn publish_cloudevent(
        &self,
        pubsub: &str,
        topic: &str,
        envelope: &Value,
        partition_key: &str,
    ) -> Result<(), DaprError> {
        let body = serde_json::to_string(envelope).map_err(|e| DaprError::Decode(e.into()))?;
        let traceparent = envelope.get("traceparent").and_then(Value::as_str);
        self.publish_cloudevent_text(pubsub, topic, body, traceparent, partition_key)
            .await
    }

    /// Like [`Self::publish_cloudevent`] with the envelope already serialized (the outbox
    /// stores it so) and its `traceparent`, if any, sent as the header.
    pub async fn publish_cloudevent_text(
        &self,
        pubsub: &str,
        topic: &str,
        envelope: String,
        traceparent: Option<&str>,
        partition_key: &str,
    ) -> Result<(), DaprError> {
        let mut request = self
            .request(
                reqwest::Method::POST,
                &format!("/v1.0/publish/{pubsub}/{topic}"),
            )
            .query(&[("metadata.partitionKey", partition_key)])
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/cloudevents+json",
            );
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = request
            .body(envelope)
            .send()
            .await
            .map_err(DaprError::Unavailable)?;
        expect_success(response).await.map(drop)
    }

    /// Publishes already-serialized CloudEvents to one topic in one request (daprd's bulk
    /// publish, docs/dapr-behaviour.md §1.5), each keyed by its own partition key. Returns the
    /// entries the broker refused, by index, with the error; the others were produced. A
    /// request refused as a whole (sidecar unreachable, 4xx) is an `Err`: nothing was produced.
    ///
    /// daprd promises no order among the entries of one request: put at most one entry per
    /// partition key in it when their order matters.
    pub async fn publish_cloudevents_bulk(
        &self,
        pubsub: &str,
        topic: &str,
        entries: &[BulkCloudEvent<'_>],
    ) -> Result<Vec<(usize, DaprError)>, DaprError> {
        // The envelopes are JSON objects already: the body is written around them rather than
        // parsed and serialized again.
        let mut body = String::with_capacity(
            entries
                .iter()
                .map(|e| e.envelope.len() + 128)
                .sum::<usize>()
                + 2,
        );
        body.push('[');
        for (index, entry) in entries.iter().enumerate() {
            if index > 0 {
                body.push(',');
            }
            let key = serde_json::to_string(entry.partition_key)
                .map_err(|e| DaprError::Decode(e.into()))?;
            body.push_str(&format!(
                r#"{{"entryId":"{index}","contentType":"application/cloudevents+json","metadata":{{"partitionKey":{key}}},"event":{}}}"#,
                entry.envelope
            ));
        }
        body.push(']');
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/v1.0-alpha1/publish/bulk/{pubsub}/{topic}"),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(DaprError::Unavailable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Vec::new());
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| DaprError::Decode(e.into()))?;
        let refused: BulkPublishRefusal = serde_json::from_slice(&bytes).unwrap_or_default();
        if status != StatusCode::INTERNAL_SERVER_ERROR || refused.failed_entries.is_empty() {
            let body: DaprErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
            return Err(DaprError::Rejected {
                status,
                code: body.error_code,
                message: body.message,
            });
        }
        Ok(refused
            .failed_entries
            .into_iter()
            .filter_map(|failed| {
                let index = failed.entry_id.parse::<usize>().ok()?;
                let error = DaprError::Rejected {
                    status,
                    code: refused.error_code.clone(),
                    message: failed.error,
                };
                Some((index, error))
            })
            .collect())
    }

    /// Reads a state value; `None` when the key is missing or expired (Dapr answers 204).
    pub async fn get_state<T: DeserializeOwned>(
        &self,
        store: &str,
        key: &str,
    ) -> Result<Option<StateEntry<T>>, DaprError> {
        let response = self
            .request(reqwest::Method::GET, &format!("/v1.0/state/{store}/{key}"))
            .send()
            .await
            .map_err(DaprError::Unavailable)?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let response = expect_success(response).await?;
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let value = response
            .json::<T>()
            .await
            .map_err(|e| DaprError::Decode(e.into()))?;
        Ok(Some(StateEntry { value, etag }))
    }

    /// Saves one item. A first-write on an existing key is [`DaprError::AlreadyExists`]: Redis
    /// answers it with a 500 that is indistinguishable from an outage (§4.4), so a follow-up
    /// read tells the two apart.
    pub async fn save_state(&self, store: &str, item: &StateItem) -> Result<(), DaprError> {
        let metadata = item.ttl.map(|ttl| {
            let mut map = serde_json::Map::new();
            map.insert(
                "ttlInSeconds".to_owned(),
                Value::String(ttl.as_secs().max(1).to_string()),
            );
            map
        });
        let body = [StateItemBody {
            key: &item.key,
            value: &item.value,
            etag: item.etag.as_deref(),
            metadata,
            options: item
                .first_write
                .then(|| serde_json::json!({"concurrency": "first-write"})),
        }];
        let response = self
            .request(reqwest::Method::POST, &format!("/v1.0/state/{store}"))
            .json(&body)
            .send()
            .await
            .map_err(DaprError::Unavailable)?;
        match expect_success(response).await {
            Err(DaprError::Rejected {
                status: StatusCode::CONFLICT,
                ..
            }) => Err(DaprError::EtagMismatch),
            Err(DaprError::Rejected {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code,
                message,
            }) if item.first_write && item.etag.is_none() => {
                match self.get_state::<Value>(store, &item.key).await {
                    Ok(Some(_)) => Err(DaprError::AlreadyExists),
                    _ => Err(DaprError::Rejected {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        code,
                        message,
                    }),
                }
            }
            other => other.map(drop),
        }
    }

    /// Deletes a key (optionally only if its ETag matches). Deleting a missing key succeeds.
    pub async fn delete_state(
        &self,
        store: &str,
        key: &str,
        etag: Option<&str>,
    ) -> Result<(), DaprError> {
        let mut request = self.request(
            reqwest::Method::DELETE,
            &format!("/v1.0/state/{store}/{key}"),
        );
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_MATCH, etag);
        }
        let response = request.send().await.map_err(DaprError::Unavailable)?;
        match expect_success(response).await {
            Err(DaprError::Rejected {
                status: StatusCode::CONFLICT,
                ..
            }) => Err(DaprError::EtagMismatch),
            other => other.map(drop),
        }
    }
}

async fn expect_success(response: reqwest::Response) -> Result<reqwest::Response, DaprError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body: DaprErrorBody = response.json().await.unwrap_or_default();
    Err(DaprError::Rejected {
        status,
        code: body.error_code,
        message: body.message,
    })
}
