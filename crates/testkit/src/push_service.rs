//! A push service stand-in for Web Push tests: an axum app on port 0 that plays both the push
//! service (RFC 8030: it takes `POST /push/{id}`, checks the VAPID token of RFC 8292 against the
//! key in `k=`, and answers as told) and the browser behind each subscription (it holds the
//! subscription's P-256 private key and auth secret and decrypts the `aes128gcm` body as
//! RFC 8291 says a user agent does). Tests read what each browser would have shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

/// One browser's subscription as it would send it to the app (`PushSubscription.toJSON()`).
#[derive(Debug, Clone)]
pub struct Browser {
    /// Its id at the stand-in.
    pub id: String,
    /// `{"endpoint", "keys": {"p256dh", "auth"}}`.
    pub subscription: Value,
}

/// What a browser received: the decrypted message and the request's headers of interest.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which browser.
    pub browser: String,
    /// The decrypted payload, parsed as JSON.
    pub message: Value,
    /// `TTL`, `Urgency`, `Topic` as sent.
    pub headers: HashMap<String, String>,
}

struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
    status: u16,
}

#[derive(Clone, Default)]
struct Inner {
    subscribers: Arc<Mutex<HashMap<String, Subscriber>>>,
    received: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct PushService {
    address: String,
    inner: Inner,
}

impl PushService {
    /// A new browser subscribed at this push service; its pushes are answered `201`.
    pub fn subscribe(&self) -> Browser {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = loop {
            if let Ok(secret) = p256::SecretKey::from_slice(&rand_bytes::<32>()) {
                break secret;
            }
        };
        let auth = rand_bytes::<16>();
        let subscription = json!({
            "endpoint": format!("{}/push/{id}", self.address),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(auth),
            },
        });
        self.inner.subscribers.lock().unwrap().insert(
            id.clone(),
            Subscriber {
                secret,
                auth,
                status: 201,
            },
        );
        Browser { id, subscription }
    }

    /// Answers `status` to the next pushes for `browser` (410: it unsubscribed).
    pub fn answer(&self, browser: &Browser, status: u16) {
        if let Some(s) = self.inner.subscribers.lock().unwrap().get_mut(&browser.id) {
            s.status = status;
        }
    }

    /// Every message decrypted so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Why requests were refused (a bad VAPID token, undecryptable body), in order.
    pub fn refused(&self) -> Vec<String> {
        self.inner.refused.lock().unwrap().clone()
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(16) {
        let random = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    bytes
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>`: an ES256 token signed by `k` for this
/// origin, expiring within 24 hours, with a `mailto:`/`https:` subject.
fn check_vapid(headers: &HeaderMap, origin: &str) -> Result<(), String> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization")?;
    let (token, key) = header
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .ok_or("not vapid t=…, k=…")?;
    let point = URL_SAFE_NO_PAD.decode(key).map_err(|e| e.to_string())?;
    if point.len() != 65 || point[0] != 4 {
        return Err("k is not an uncompressed P-256 point".to_owned());
    }
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[origin]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map_err(|e| format!("VAPID token: {e}"))?
        .claims;
    let now = chrono::Utc::now().timestamp();
    if claims["exp"]
        .as_i64()
        .is_none_or(|exp| exp > now + 24 * 3600)
    {
        return Err("exp more than 24 hours ahead".to_owned());
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err("sub is no mailto:/https: contact".to_owned());
    }
    Ok(())
}

async fn push(
    State((inner, origin)): State<(Inner, String)>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let refuse = |why: String, status: StatusCode| {
        inner.refused.lock().unwrap().push(why);
        status
    };
    if let Err(why) = check_vapid(&headers, &origin) {
        return refuse(why, StatusCode::UNAUTHORIZED);
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header("content-encoding").as_deref() != Some("aes128gcm") || header("ttl").is_none() {
        return refuse(
            "not aes128gcm with a TTL".to_owned(),
            StatusCode::BAD_REQUEST,
        );
    }
    let subscribers = inner.subscribers.lock().unwrap();
    let Some(subscriber) = subscribers.get(&id) else {
        return StatusCode::NOT_FOUND;
    };
    if subscriber.status != 201 {
        return StatusCode::from_u16(subscriber.status).unwrap_or(StatusCode::GONE);
    }
    let decrypted =
        web_push_native::decrypt(body.to_vec(), &subscriber.secret, &subscriber.auth.into());
    drop(subscribers);
    let Ok(plain) = decrypted else {
        return refuse("cannot decrypt".to_owned(), StatusCode::BAD_REQUEST);
    };
    let message = serde_json::from_slice(&plain).unwrap_or(Value::Null);
    let headers = ["ttl", "urgency", "topic"]
        .iter()
        .filter_map(|name| header(name).map(|v| ((*name).to_owned(), v)))
        .collect();
    inner.received.lock().unwrap().push(Received {
        browser: id,
        message,
        headers,
    });
    StatusCode::CREATED
}

/// Starts the stand-in on a free port of 127.0.0.1.
pub async fn start_push_service() -> PushService {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let inner = Inner::default();
    let app = Router::new()
        .route("/push/{id}", post(push))
        .with_state((inner.clone(), address.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    PushService { address, inner }
}
