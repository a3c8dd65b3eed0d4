//! Authentication of API callers by JWT (docs/contract.md §3): HS256 tokens signed with
//! `JWT_SECRET` (development, `fleet token`) and EdDSA/RS256/ES256 tokens whose keys come from a
//! JWKS URL (Better Auth's `/api/auth/jwks`), looked up by `kid` and refreshed on an unknown `kid`.
//! There is no other way in: no `user_id` parameter, no bypass flag.

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::erased::ErasedAccounts;
use crate::error::ApiError;

/// The longest user id accepted from a token (the `tasks.user_id` column's bound).
const MAX_SUBJECT_LEN: usize = 255;
/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_SECS: u64 = 5;
/// An unknown `kid` triggers a JWKS refresh at most this often, so forged tokens cannot make
/// us hammer the key server.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Fetched keys are trusted this long; after it the next request refetches them, so a key
/// withdrawn from the JWKS stops being accepted.
const KEYS_TTL: Duration = Duration::from_secs(600);

/// Why a token was refused. Callers only ever see "invalid token"; the reason is logged.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header (or `?token=`).
    #[error("missing bearer token")]
    Missing,
    /// The token is malformed, unsigned, badly signed, expired, or lacks `sub`.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The JWKS could not be fetched.
    #[error("key set unavailable: {0}")]
    KeysUnavailable(String),
    /// The deleted accounts are not loaded yet ([`crate::erased`]), so a token's account cannot
    /// be told to exist: a 503, not a 401.
    #[error("the deleted accounts are not known yet")]
    AccountsUnknown,
}

/// The claims taskfleet reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry (seconds since the epoch); required.
    pub exp: u64,
    /// Issued-at, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not-before, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Audience: one string or several. Checked only where a route asks for one (`/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    /// The token's id. Agent tokens carry the id of their row in backend-api's registry, which
    /// `/mcp` checks on every call (so they can be revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// What the token is for. [`MCP_TOKEN_USE`] marks a token handed to an external agent:
    /// only `/mcp` accepts it, so an agent cannot reach the REST API (and confirm its own
    /// confirmation cards) with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
}

/// The `token_use` of tokens for MCP agents.
pub const MCP_TOKEN_USE: &str = "mcp";
/// The `token_use` of calendar-feed tokens: the credential in a calendar subscription URL,
/// accepted only by backend-api's `/calendar.ics`.
pub const CALENDAR_TOKEN_USE: &str = "calendar";

/// Where keys come from and what a token must claim.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// HS256 secret; accepted only when set.
    pub jwt_secret: Option<SecretString>,
    /// JWKS URL for asymmetric keys; accepted only when set.
    pub jwks_url: Option<String>,
    /// When set, every token's `iss` must equal it (`AUTH_ISSUER`; Better Auth: its base URL).
    pub issuer: Option<String>,
    /// When set, every API token's `aud` must name it (`AUTH_AUDIENCE`; Better Auth: its base
    /// URL). `/mcp` checks its own audience instead.
    pub audience: Option<String>,
}

type KeyMap = HashMap<String, (DecodingKey, Algorithm)>;

/// The last good key set and when it was fetched.
#[derive(Default)]
struct KeySet {
    keys: KeyMap,
    fetched_at: Option<Instant>,
}

struct JwksCache {
    url: String,
    min_refresh_interval: Duration,
    ttl: Duration,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    last_refresh: Mutex<Option<Instant>>,
}

/// Verifies bearer tokens. Cheap to clone behind an `Arc`; shared by every request.
pub struct JwtVerifier {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
    /// The deleted accounts, whose tokens are refused ([`Self::with_erased`]).
    erased: Option<Arc<ErasedAccounts>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("jwks", &self.jwks.as_ref().map(|j| j.url.as_str()))
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier accepting exactly the key sources configured in `settings`.
    pub fn new(settings: &AuthSettings) -> Self {
        let hs256 = settings
            .jwt_secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.expose_secret().as_bytes()));
        let jwks = settings.jwks_url.clone().map(|url| JwksCache {
            url,
            min_refresh_interval: MIN_REFRESH_INTERVAL,
            ttl: KEYS_TTL,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(KeySet::default()),
            last_refresh: Mutex::new(None),
        });
        Self {
            hs256,
            jwks,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            erased: None,
        }
    }

    /// Refuses every token whose `sub` is a deleted account of `erased`, whatever its expiry.
    /// Every service that authenticates users sets it ([`ErasedAccounts::watch`] keeps it
    /// current); without it a token outlives its account until it expires.
    pub fn with_erased(mut self, erased: Arc<ErasedAccounts>) -> Self {
        self.erased = Some(erased);
        self
    }

    /// `Ok` unless `user_id`'s account was deleted (or the deleted accounts are not loaded yet),
    /// for a credential that is not a token: websocket's tickets, minted before a deletion.
    pub async fn check_account(&self, user_id: &str) -> Result<(), AuthError> {
        match &self.erased {
            Some(erased) => erased.check(user_id).await,
            None => Ok(()),
        }
    }

    /// Changes how long fetched keys are trusted before they are fetched again (default 10 min).
    pub fn with_keys_ttl(mut self, ttl: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.ttl = ttl;
        }
        self
    }

    /// Changes how often an unknown `kid` may trigger a JWKS refresh (default 10 s).
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.min_refresh_interval = interval;
        }
        self
    }

    /// Verifies a token for the APIs and returns its claims. Tokens minted for one use (an MCP
    /// agent, [`MCP_TOKEN_USE`]; a calendar feed, [`CALENDAR_TOKEN_USE`]; anything else that
    /// names a `token_use`) are refused here: they reach only their own endpoint.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.verify_signed(token, None).await?;
        if let Some(token_use) = &claims.token_use {
            return Err(AuthError::Invalid(format!(
                "a token for {token_use:?} is accepted only by its own endpoint"
            )));
        }
        Ok(claims)
    }

    /// Verifies a token minted for `token_use` at `audience` (a calendar feed's URL): its
    /// `aud` must name the audience and its `token_use` must be exactly `token_use`.
    pub async fn verify_for_use(
        &self,
        token: &str,
        audience: &str,
        token_use: &str,
    ) -> Result<Claims, AuthError> {
        let claims = self.verify_signed(token, Some(audience)).await?;
        if claims.token_use.as_deref() != Some(token_use) {
            return Err(AuthError::Invalid(format!(
                "the token is not a {token_use:?} token"
            )));
        }
        Ok(claims)
    }

    /// Verifies a token for the MCP endpoint at `audience`: its `aud` must name it and its
    /// `token_use` be [`MCP_TOKEN_USE`] (a token minted for anything else is refused).
    pub async fn verify_for_mcp(&self, token: &str, audience: &str) -> Result<Claims, AuthError> {
        self.verify_for_use(token, audience, MCP_TOKEN_USE).await
    }

    async fn verify_signed(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<Claims, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let (key, alg) = match header.alg {
            Algorithm::HS256 => {
                let key = self
                    .hs256
                    .clone()
                    .ok_or_else(|| AuthError::Invalid("HS256 tokens are not accepted".into()))?;
                (key, Algorithm::HS256)
            }
            Algorithm::EdDSA | Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self.jwks.as_ref().ok_or_else(|| {
                    AuthError::Invalid("asymmetric tokens are not accepted".into())
                })?;
                let kid = header
                    .kid
                    .ok_or_else(|| AuthError::Invalid("token has no kid".into()))?;
                let (key, alg) = jwks.key(&kid).await?;
                if alg != header.alg {
                    return Err(AuthError::Invalid(
                        "algorithm does not match the key".into(),
                    ));
                }
                (key, alg)
            }
            other => {
                return Err(AuthError::Invalid(format!(
                    "algorithm {other:?} is not accepted"
                )));
            }
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match audience.or(self.audience.as_deref()) {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let sub = data.claims.sub.trim();
        if sub.is_empty() || sub.len() > MAX_SUBJECT_LEN || sub != data.claims.sub {
            return Err(AuthError::Invalid("unusable sub claim".into()));
        }
        self.check_account(sub).await?;
        Ok(data.claims)
    }
}

impl JwksCache {
    /// The key for `kid`: from the cached set while it is fresh; otherwise the set is fetched
    /// again (at most every `min_refresh_interval`). A failed or empty fetch keeps the last
    /// good set, so an outage or a broken key server never locks every user out.
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), AuthError> {
        {
            let set = self.keys.read().await;
            let fresh = set.fetched_at.is_some_and(|at| at.elapsed() < self.ttl);
            if let (true, Some(found)) = (fresh, set.keys.get(kid)) {
                return Ok(found.clone());
            }
        }
        let refreshed = self.refresh().await;
        let set = self.keys.read().await;
        match (set.keys.get(kid), refreshed) {
            (Some(found), _) => Ok(found.clone()),
            (None, Err(error)) if set.keys.is_empty() => Err(error),
            (None, _) => Err(AuthError::Invalid(format!("unknown kid {kid}"))),
        }
    }

    async fn refresh(&self) -> Result<(), AuthError> {
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refresh_interval) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let fetched = self.fetch().await;
        match fetched {
            Ok(keys) if !keys.is_empty() => {
                *self.keys.write().await = KeySet {
                    keys,
                    fetched_at: Some(Instant::now()),
                };
                Ok(())
            }
            Ok(_) => {
                tracing::warn!(url = %self.url, "the JWKS has no usable key; keeping the last good set");
                Err(AuthError::KeysUnavailable("empty key set".into()))
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS refresh failed; keeping the last good set");
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<KeyMap, AuthError> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_) => continue,
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, (key, alg));
                }
                Err(error) => tracing::warn!(%kid, %error, "skipping unusable jwk"),
            }
        }
        Ok(keys)
    }
}

/// Mints an HS256 token for `sub` valid for `ttl`: the dev command (`fleet token`) and tests.
pub fn mint_hs256(
    secret: &str,
    sub: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    mint_hs256_with_exp(
        secret,
        sub,
        jsonwebtoken::get_current_timestamp() + ttl.as_secs(),
    )
}

/// Mints an HS256 token for `sub` expiring at `exp` (seconds since the epoch; may be past).
pub fn mint_hs256_with_exp(
    secret: &str,
    sub: &str,
    exp: u64,
) -> Result<String, jsonwebtoken::errors::Error> {
    mint_hs256_claims(
        secret,
        &Claims {
            jti: None,
            sub: sub.to_owned(),
            exp,
            iat: Some(jsonwebtoken::get_current_timestamp()),
            nbf: None,
            aud: None,
            token_use: None,
        },
    )
}

/// Mints an HS256 token carrying exactly `claims` (tokens with an audience, for `/mcp`).
pub fn mint_hs256_claims(
    secret: &str,
    claims: &Claims,
) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// The authenticated caller. Extracting it from a request verifies the bearer token; handlers
/// that take it can only be reached with a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The `sub` claim.
    pub user_id: String,
}

/// Pulls the bearer token out of `Authorization`.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<JwtVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<JwtVerifier>::from_ref(state);
        let token = bearer_token(parts).ok_or(AuthError::Missing)?;
        let claims = verifier.verify(token).await?;
        Ok(Self {
            user_id: claims.sub,
        })
    }
}
