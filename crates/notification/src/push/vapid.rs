//! VAPID (RFC 8292): the application server's P-256 key, which browsers bind a subscription to
//! (`applicationServerKey`) and push services check on every request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;

/// How long a VAPID token is valid (RFC 8292 §2: at most 24 hours).
const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

/// The application server's key pair.
#[derive(Clone)]
pub struct VapidKey {
    /// The uncompressed public point, base64url without padding: what the browser's
    /// `applicationServerKey` takes and what `k=` carries.
    public_key: String,
    signing: EncodingKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

impl VapidKey {
    /// The key whose private scalar is `private_key`: 32 bytes, base64url (the form
    /// `web-push generate-vapid-keys` and `fleet vapid-keys` print).
    pub fn from_private_key(private_key: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(private_key.trim().trim_end_matches('='))
            .map_err(|_| "is not base64url".to_owned())?;
        let secret = p256::SecretKey::from_slice(&bytes)
            .map_err(|_| "is not a P-256 private key (32 bytes, base64url)".to_owned())?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|error| format!("cannot be encoded: {error}"))?;
        Ok(Self {
            public_key: URL_SAFE_NO_PAD
                .encode(secret.public_key().to_encoded_point(false).as_bytes()),
            signing: EncodingKey::from_ec_der(der.as_bytes()),
        })
    }

    /// A new random key: its private scalar (base64url) and the key.
    pub fn generate() -> (String, Self) {
        loop {
            let bytes: [u8; 32] = rand::random();
            let private_key = URL_SAFE_NO_PAD.encode(bytes);
            // A random 256-bit string is a valid scalar except with negligible probability.
            if let Ok(key) = Self::from_private_key(&private_key) {
                return (private_key, key);
            }
        }
    }

    /// The public key, base64url (uncompressed point).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` header for a push to `endpoint`: `vapid t=<ES256 JWT>, k=<key>`,
    /// the token's audience the endpoint's origin, its subject `subject` (a `mailto:` or
    /// `https:` contact for the push service's operators).
    pub fn authorization(
        &self,
        endpoint: &reqwest::Url,
        subject: &str,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let audience = endpoint.origin().ascii_serialization();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &Claims {
                aud: &audience,
                exp: now + TOKEN_LIFETIME_SECS,
                sub: subject,
            },
            &self.signing,
        )?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_and_signs_a_token_its_public_key_verifies() {
        let (private_key, key) = VapidKey::generate();
        let again = VapidKey::from_private_key(&private_key).expect("valid key");
        assert_eq!(again.public_key(), key.public_key());
        let point = URL_SAFE_NO_PAD.decode(key.public_key()).expect("base64url");
        assert_eq!((point.len(), point[0]), (65, 4));

        let endpoint = reqwest::Url::parse("https://push.example.net:8443/send/abc").expect("url");
        let header = key
            .authorization(&endpoint, "mailto:ops@example.com", 1_800_000_000)
            .expect("signed");
        let (token, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .expect("vapid t=…, k=…");
        assert_eq!(k, key.public_key());
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .expect("public key");
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://push.example.net:8443"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .expect("verifies");
        assert_eq!(claims.claims["sub"], "mailto:ops@example.com");
        assert_eq!(claims.claims["exp"], 1_800_000_000 + 12 * 3600);
    }

    #[test]
    fn the_development_key_is_a_key() {
        assert!(VapidKey::from_private_key(crate::push::DEV_VAPID_PRIVATE_KEY).is_ok());
    }

    #[test]
    fn keys_that_are_not_p256_scalars_are_refused() {
        for bad in [
            "",
            "not base64!",
            "AAAA",
            &URL_SAFE_NO_PAD.encode([0u8; 32]),
        ] {
            assert!(VapidKey::from_private_key(bad).is_err(), "{bad}");
        }
    }
}
