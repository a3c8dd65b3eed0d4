use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::auth::{AuthError, AuthSettings, Claims, JwtVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn ed25519(kid: &str) -> SigningKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    SigningKey {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}),
    }
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn sign(key: &SigningKey, sub: &str, exp: u64) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(
        &header,
        &Claims {
            jti: None,
            sub: sub.to_owned(),
            exp,
            iat: None,
            nbf: None,
            aud: None,
            token_use: None,
        },
        &key.encoding,
    )
    .unwrap()
}

/// A JWKS endpoint whose key set the test can rotate.
async fn jwks_server(keys: Arc<Mutex<Vec<Value>>>) -> String {
    let app = Router::new().route(
        "/api/auth/jwks",
        get(move || {
            let keys = keys.clone();
            async move { Json(json!({ "keys": *keys.lock().unwrap() })) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/auth/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn jwks_tokens_are_verified_by_kid_and_a_rotated_key_is_fetched_on_first_sight() {
    let first = ed25519("k1");
    let second = ed25519("k2");
    let keys = Arc::new(Mutex::new(vec![first.jwk.clone()]));
    let url = jwks_server(keys.clone()).await;
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: None,
        jwks_url: Some(url),
        ..Default::default()
    })
    .with_min_refresh_interval(Duration::ZERO);

    assert_eq!(
        verifier
            .verify(&sign(&first, "alice", now() + 60))
            .await
            .unwrap()
            .sub,
        "alice"
    );
    // Rotation: the provider now publishes k2; the first k2 token triggers a refresh.
    *keys.lock().unwrap() = vec![second.jwk.clone()];
    assert_eq!(
        verifier
            .verify(&sign(&second, "bob", now() + 60))
            .await
            .unwrap()
            .sub,
        "bob"
    );
    // A key the provider does not publish is refused.
    let stranger = ed25519("k3");
    assert!(matches!(
        verifier.verify(&sign(&stranger, "eve", now() + 60)).await,
        Err(AuthError::Invalid(_))
    ));
    // A known kid with someone else's signature is refused.
    let forged = ed25519("k2");
    assert!(
        verifier
            .verify(&sign(&forged, "eve", now() + 60))
            .await
            .is_err()
    );
    // Expired is expired, whatever the key.
    assert!(
        verifier
            .verify(&sign(&second, "bob", now() - 120))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn hs256_tokens_are_refused_when_only_jwks_is_configured() {
    let keys = Arc::new(Mutex::new(vec![ed25519("k1").jwk]));
    let url = jwks_server(keys).await;
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: None,
        jwks_url: Some(url),
        ..Default::default()
    });
    let hs = common::auth::mint_hs256(
        "a-secret-that-is-long-enough-for-hs256!",
        "alice",
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(matches!(
        verifier.verify(&hs).await,
        Err(AuthError::Invalid(_))
    ));
}

#[tokio::test]
async fn an_unreachable_jwks_refuses_tokens_instead_of_accepting_them() {
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: None,
        jwks_url: Some("http://127.0.0.1:9/jwks".to_owned()),
        ..Default::default()
    });
    let token = sign(&ed25519("k1"), "alice", now() + 60);
    assert!(matches!(
        verifier.verify(&token).await,
        Err(AuthError::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn an_mcp_agent_token_opens_only_its_mcp_endpoint() {
    const SECRET: &str = "a-secret-that-is-long-enough-for-hs256!";
    const MCP: &str = "https://tasks.example.com/mcp";
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        jwks_url: None,
        ..Default::default()
    });
    let mint = |aud: Option<&str>, token_use: Option<&str>| {
        common::auth::mint_hs256_claims(
            SECRET,
            &Claims {
                jti: None,
                sub: "alice".to_owned(),
                exp: now() + 60,
                iat: None,
                nbf: None,
                aud: aud.map(|a| json!(a)),
                token_use: token_use.map(str::to_owned),
            },
        )
        .unwrap()
    };
    let agent = mint(Some(MCP), Some(common::auth::MCP_TOKEN_USE));
    assert_eq!(
        verifier.verify_for_mcp(&agent, MCP).await.unwrap().sub,
        "alice"
    );
    assert!(
        matches!(verifier.verify(&agent).await, Err(AuthError::Invalid(_))),
        "an agent token opened the APIs"
    );
    // The APIs' tokens (no audience, or the app's) are not MCP tokens.
    for token in [mint(None, None), mint(Some("http://localhost:3000"), None)] {
        assert!(verifier.verify(&token).await.is_ok());
        assert!(verifier.verify_for_mcp(&token, MCP).await.is_err());
    }
    let elsewhere = mint(
        Some("https://other.example.com/mcp"),
        Some(common::auth::MCP_TOKEN_USE),
    );
    assert!(verifier.verify_for_mcp(&elsewhere, MCP).await.is_err());
    // A token for the MCP audience that is not an agent token is no MCP token either.
    let unmarked = mint(Some(MCP), None);
    assert!(verifier.verify_for_mcp(&unmarked, MCP).await.is_err());
}

#[tokio::test]
async fn a_calendar_feed_token_opens_only_its_feed() {
    const SECRET: &str = "a-secret-that-is-long-enough-for-hs256!";
    const FEED: &str = "https://tasks.example.com/calendar.ics";
    const MCP: &str = "https://tasks.example.com/mcp";
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        jwks_url: None,
        ..Default::default()
    });
    let mint = |aud: &str, token_use: Option<&str>| {
        common::auth::mint_hs256_claims(
            SECRET,
            &Claims {
                jti: None,
                sub: "alice".to_owned(),
                exp: now() + 60,
                iat: None,
                nbf: None,
                aud: Some(json!(aud)),
                token_use: token_use.map(str::to_owned),
            },
        )
        .unwrap()
    };
    let calendar = common::auth::CALENDAR_TOKEN_USE;
    let feed = mint(FEED, Some(calendar));
    let claims = verifier
        .verify_for_use(&feed, FEED, calendar)
        .await
        .unwrap();
    assert_eq!(claims.sub, "alice");
    // Its URL leaks into calendar apps and their logs: it must open nothing else.
    assert!(
        verifier.verify(&feed).await.is_err(),
        "a feed token opened the APIs"
    );
    assert!(verifier.verify_for_mcp(&feed, FEED).await.is_err());
    // Nothing else opens the feed: an API token, an agent token, a feed token for another URL.
    for other in [
        mint(FEED, None),
        mint(FEED, Some(common::auth::MCP_TOKEN_USE)),
        mint(MCP, Some(calendar)),
    ] {
        assert!(
            verifier
                .verify_for_use(&other, FEED, calendar)
                .await
                .is_err()
        );
    }
}

/// A verifier that refetches the JWKS on every verification (TTL 0, no pacing): the worst case
/// for a refresh that would wipe or keep keys.
fn always_refetching_verifier(url: String) -> JwtVerifier {
    JwtVerifier::new(&AuthSettings {
        jwks_url: Some(url),
        ..Default::default()
    })
    .with_min_refresh_interval(Duration::ZERO)
    .with_keys_ttl(Duration::ZERO)
}

#[tokio::test]
async fn an_empty_or_failed_jwks_refresh_keeps_the_last_good_keys() {
    let first = ed25519("k1");
    let keys = Arc::new(Mutex::new(vec![first.jwk.clone()]));
    let url = jwks_server(keys.clone()).await;
    let verifier = always_refetching_verifier(url);
    let token = sign(&first, "alice", now() + 60);
    assert!(verifier.verify(&token).await.is_ok());
    // The provider answers an empty set (a broken deploy): the good key stays.
    keys.lock().unwrap().clear();
    assert!(
        verifier
            .verify(&sign(&ed25519("k9"), "eve", now() + 60))
            .await
            .is_err()
    );
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "alice");
}

#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_working_once_its_ttl_is_over() {
    let first = ed25519("k1");
    let second = ed25519("k2");
    let keys = Arc::new(Mutex::new(vec![first.jwk.clone()]));
    let url = jwks_server(keys.clone()).await;
    let verifier = always_refetching_verifier(url);
    let token = sign(&first, "alice", now() + 60);
    assert!(verifier.verify(&token).await.is_ok());
    *keys.lock().unwrap() = vec![second.jwk.clone()];
    assert!(
        verifier.verify(&token).await.is_err(),
        "k1 was withdrawn (a compromised key must stop working)"
    );
    assert!(
        verifier
            .verify(&sign(&second, "bob", now() + 60))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_configured() {
    const SECRET: &str = "a-secret-that-is-long-enough-for-hs256!";
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        issuer: Some("https://auth.example.com".to_owned()),
        audience: Some("https://auth.example.com".to_owned()),
        ..Default::default()
    });
    let mint = |claims: Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let exp = now() + 60;
    let good = mint(json!({"sub": "alice", "exp": exp,
        "iss": "https://auth.example.com", "aud": "https://auth.example.com"}));
    assert_eq!(verifier.verify(&good).await.unwrap().sub, "alice");
    for claims in [
        json!({"sub": "alice", "exp": exp}),
        json!({"sub": "alice", "exp": exp, "aud": "https://auth.example.com"}),
        json!({"sub": "alice", "exp": exp, "iss": "https://evil.example", "aud": "https://auth.example.com"}),
        json!({"sub": "alice", "exp": exp, "iss": "https://auth.example.com", "aud": "https://other.example"}),
    ] {
        assert!(
            matches!(
                verifier.verify(&mint(claims.clone())).await,
                Err(AuthError::Invalid(_))
            ),
            "{claims}"
        );
    }
}

#[tokio::test]
async fn every_kind_of_token_of_a_deleted_account_is_refused_before_it_expires() {
    const SECRET: &str = "a-secret-that-is-long-enough-for-hs256!";
    let erased = common::erased::ErasedAccounts::loaded(["gone".to_owned()]);
    let verifier = JwtVerifier::new(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        ..AuthSettings::default()
    })
    .with_erased(erased.clone());
    let minted = |sub: &str, aud: Option<&str>, token_use: Option<&str>| {
        common::auth::mint_hs256_claims(
            SECRET,
            &Claims {
                jti: None,
                sub: sub.to_owned(),
                exp: now() + 600,
                iat: Some(now()),
                nbf: None,
                aud: aud.map(|a| json!(a)),
                token_use: token_use.map(str::to_owned),
            },
        )
        .unwrap()
    };
    let mcp = "http://api.test/mcp";
    for sub in ["gone", "kept"] {
        let refused = sub == "gone";
        let api = verifier.verify(&minted(sub, None, None)).await;
        let agent = verifier
            .verify_for_mcp(&minted(sub, Some(mcp), Some("mcp")), mcp)
            .await;
        let feed = verifier
            .verify_for_use(
                &minted(sub, Some("http://api.test/cal"), Some("calendar")),
                "http://api.test/cal",
                "calendar",
            )
            .await;
        for (what, outcome) in [("api", api), ("mcp", agent), ("calendar", feed)] {
            match outcome {
                Err(AuthError::Invalid(reason)) if refused => {
                    assert!(reason.contains("deleted"), "{what}: {reason}");
                }
                Ok(claims) if !refused => assert_eq!(claims.sub, sub),
                other => panic!("{what} token of {sub}: {other:?}"),
            }
        }
        assert_eq!(verifier.check_account(sub).await.is_err(), refused);
    }
    // Told later (the erasure committed meanwhile): the same token is refused from then on.
    let token = minted("late", None, None);
    verifier.verify(&token).await.unwrap();
    erased.insert("late");
    assert!(matches!(
        verifier.verify(&token).await,
        Err(AuthError::Invalid(_))
    ));
}
