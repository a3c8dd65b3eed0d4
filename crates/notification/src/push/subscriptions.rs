//! `POST/DELETE /api/push/subscriptions` and `GET /api/push/public-key`: the browsers of a user
//! that receive reminders while no tab is open.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::ApiJson;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::startup::AppState;

/// Browsers one user may register; registering another forgets the one registered longest ago.
pub const MAX_PER_USER: i64 = 20;
/// The longest endpoint URL accepted (push services' are a few hundred bytes).
const MAX_ENDPOINT: usize = 2048;

/// The keys of a browser's push subscription.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key (uncompressed point, base64url).
    pub p256dh: String,
    /// The 16-byte authentication secret (base64url).
    pub auth: String,
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The push service URL messages for this browser are posted to.
    pub endpoint: String,
    /// When the push service will end the subscription (ignored: a 404/410 ends it here).
    #[serde(default, rename = "expirationTime")]
    #[schema(value_type = Option<f64>)]
    pub expiration_time: Option<serde_json::Value>,
    /// Its encryption keys.
    pub keys: SubscriptionKeys,
}

/// `DELETE /api/push/subscriptions` body: which browser stops receiving pushes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// The subscription's endpoint.
    pub endpoint: String,
}

/// A stored subscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Subscribed {
    /// Its id.
    pub id: Uuid,
    /// Its endpoint.
    pub endpoint: String,
}

/// The key browsers subscribe with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// The VAPID public key (uncompressed P-256 point, base64url): `applicationServerKey`.
    pub public_key: String,
}

fn decode(value: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()
}

/// Whether `host` names this machine or a private network: a push endpoint there would make
/// the notification service post to internal addresses for whoever registers it. A name is
/// checked again when it is resolved, at every push ([`super::send::client`]).
fn internal_host(host: &url::Host<&str>) -> bool {
    let ip = match host {
        url::Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            return name == "localhost" || name.ends_with(".localhost") || !name.contains('.');
        }
        url::Host::Ipv4(ip) => IpAddr::V4(*ip),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip),
    };
    internal_ip(ip)
}

/// Whether `ip` is this machine's, a private network's, link-local (cloud metadata services
/// among them), shared address space (100.64/10), unspecified or broadcast.
pub(crate) fn internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some()
        }
    }
}

/// A subscription whose fields were checked.
#[derive(Debug, Clone)]
pub struct Valid {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl NewSubscription {
    /// Checks the endpoint (https, a public host; plain http and any host only when
    /// `allow_insecure`) and the keys (a P-256 point, a 16-byte secret).
    pub fn validate(self, allow_insecure: bool) -> Result<Valid, ApiError> {
        let endpoint = self.endpoint.trim().to_owned();
        if endpoint.len() > MAX_ENDPOINT {
            return Err(ApiError::invalid_field("endpoint", "is too long"));
        }
        let url = url::Url::parse(&endpoint)
            .map_err(|_| ApiError::invalid_field("endpoint", "is not a URL"))?;
        let secure = url.scheme() == "https";
        if !(secure || allow_insecure && url.scheme() == "http") {
            return Err(ApiError::invalid_field("endpoint", "must be an https URL"));
        }
        let Some(host) = url.host() else {
            return Err(ApiError::invalid_field("endpoint", "has no host"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiError::invalid_field(
                "endpoint",
                "must not carry credentials",
            ));
        }
        if !allow_insecure && internal_host(&host) {
            return Err(ApiError::invalid_field(
                "endpoint",
                "must be a push service on the internet",
            ));
        }
        let point = decode(&self.keys.p256dh)
            .filter(|p| p.len() == 65 && p256::PublicKey::from_sec1_bytes(p).is_ok())
            .ok_or_else(|| ApiError::invalid_field("keys.p256dh", "is not a P-256 public key"))?;
        let auth = decode(&self.keys.auth)
            .filter(|a| a.len() == 16)
            .ok_or_else(|| ApiError::invalid_field("keys.auth", "is not a 16-byte secret"))?;
        Ok(Valid {
            endpoint,
            p256dh: URL_SAFE_NO_PAD.encode(point),
            auth: URL_SAFE_NO_PAD.encode(auth),
        })
    }
}

/// Stores `subscription` for `user_id`. An endpoint belongs to one browser, so registering it
/// again (also after another account signed in there) moves it to this user with its new keys.
/// `None` when the account was deleted (a request whose token was checked just before): nothing
/// is stored, as `user-deleted` may have cleared the user's subscriptions already.
pub async fn store(
    pool: &PgPool,
    user_id: &str,
    subscription: &Valid,
) -> sqlx::Result<Option<Uuid>> {
    let mut tx = pool.begin().await?;
    let stored: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) \
         SELECT $1, $2, $3, $4, $5 \
         WHERE NOT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $2) \
         ON CONFLICT (endpoint) DO UPDATE \
         SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, \
             created_at = now() \
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(&subscription.endpoint)
    .bind(&subscription.p256dh)
    .bind(&subscription.auth)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = stored else {
        return Ok(None);
    };
    sqlx::query(
        "DELETE FROM push_subscriptions WHERE id IN (SELECT id FROM push_subscriptions \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2)",
    )
    .bind(user_id)
    .bind(MAX_PER_USER)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// The key browsers subscribe with; 404 `push_disabled` when this deployment has no VAPID key.
#[utoipa::path(get, path = "/api/push/public-key", tag = "push", security(("bearer" = [])),
    responses((status = 200, body = PublicKey),
              (status = 404, description = "push is not configured (no VAPID key)")))]
pub async fn public_key(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<PublicKey>, ApiError> {
    let key = state.push.key().ok_or_else(disabled)?;
    Ok(Json(PublicKey {
        public_key: key.public_key().to_owned(),
    }))
}

fn disabled() -> ApiError {
    ApiError::from(common::error::Refusal::new(
        StatusCode::NOT_FOUND,
        "push_disabled",
        "reminders by push are not configured here",
    ))
}

/// Registers this browser's push subscription for the caller: reminders reach it while no tab
/// is open. 201 with the stored id.
#[utoipa::path(post, path = "/api/push/subscriptions", tag = "push", security(("bearer" = [])),
    request_body = NewSubscription,
    responses((status = 201, body = Subscribed),
              (status = 404, description = "push is not configured (no VAPID key)"),
              (status = 410, description = "the account was deleted"),
              (status = 422, description = "not a push service URL, or bad keys")))]
pub async fn subscribe(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewSubscription>,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    state.push.key().ok_or_else(disabled)?;
    let valid = new.validate(state.push.settings.allow_insecure_endpoints)?;
    let id = store(&state.pool, &user.user_id, &valid)
        .await?
        .ok_or_else(common::error::account_deleted)?;
    Ok((
        StatusCode::CREATED,
        Json(Subscribed {
            id,
            endpoint: valid.endpoint,
        }),
    ))
}

/// Stops pushes to one of the caller's browsers (204, also when it was not registered).
#[utoipa::path(delete, path = "/api/push/subscriptions", tag = "push", security(("bearer" = [])),
    request_body = Unsubscribe,
    responses((status = 204, description = "no longer registered")))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<Unsubscribe>,
) -> Result<StatusCode, ApiError> {
    sqlx::query("DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2")
        .bind(&user.user_id)
        .bind(body.endpoint.trim())
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(endpoint: &str) -> NewSubscription {
        let (_, key) = crate::push::VapidKey::generate();
        NewSubscription {
            endpoint: endpoint.to_owned(),
            expiration_time: None,
            keys: SubscriptionKeys {
                p256dh: key.public_key().to_owned(),
                auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
            },
        }
    }

    #[test]
    fn only_https_push_services_on_public_hosts_are_accepted() {
        assert!(
            subscription("https://fcm.googleapis.com/fcm/send/abc")
                .validate(false)
                .is_ok()
        );
        for bad in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://127.0.0.1/push",
            "https://10.1.2.3/push",
            "https://192.168.0.1/push",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/push",
            "https://[fd00::1]/push",
            "https://localhost/push",
            "https://notification/push",
            "https://user:pw@push.example.com/x",
            "ftp://push.example.com/x",
            "not a url",
        ] {
            assert!(subscription(bad).validate(false).is_err(), "{bad}");
        }
        // Tests and development post to a stand-in on this machine.
        assert!(
            subscription("http://127.0.0.1:9/push")
                .validate(true)
                .is_ok()
        );
    }

    #[test]
    fn keys_must_be_a_p256_point_and_a_16_byte_secret() {
        let mut bad_point = subscription("https://push.example.com/x");
        bad_point.keys.p256dh = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(bad_point.validate(false).is_err());
        let mut bad_auth = subscription("https://push.example.com/x");
        bad_auth.keys.auth = URL_SAFE_NO_PAD.encode([1u8; 8]);
        assert!(bad_auth.validate(false).is_err());
    }
}
