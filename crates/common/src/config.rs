//! Typed settings read from the environment once at start-up and validated there, so a
//! misconfigured service refuses to start instead of failing on its first request. Every
//! variable is documented in `.env.example`.

use std::net::IpAddr;
use std::str::FromStr;

use crate::auth::AuthSettings;

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Reads `name`, or `default` when unset or empty.
pub fn env_or<T: FromStr>(name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env_opt(name)? {
        Some(value) => Ok(value),
        None => Ok(default),
    }
}

/// Reads `name` if set and non-empty.
pub fn env_opt<T: FromStr>(name: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => {
            raw.trim()
                .parse()
                .map(Some)
                .map_err(|e: T::Err| ConfigError {
                    name: name.to_owned(),
                    problem: e.to_string(),
                })
        }
        _ => Ok(None),
    }
}

/// The smallest HS256 secret accepted: shorter ones are guessable.
pub const MIN_JWT_SECRET_LEN: usize = 32;

/// What every service needs: where to listen, where its sidecar and database are, how to
/// authenticate callers.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Interface to bind (`APP_HOST`, default 0.0.0.0 so the sidecar and probes can reach it).
    pub host: IpAddr,
    /// Port to bind (`APP_PORT`; 0 picks a free one, as tests do).
    pub port: u16,
    /// The sidecar's HTTP port (`DAPR_HTTP_PORT`, default 3500).
    pub dapr_http_port: u16,
    /// Sent to the sidecar as `dapr-api-token` (`DAPR_API_TOKEN`).
    pub dapr_api_token: Option<String>,
    /// Required from the sidecar on internal routes (`APP_API_TOKEN`).
    pub app_api_token: Option<String>,
    /// Postgres (`DATABASE_URL`).
    pub database_url: String,
    /// Pool size (`DATABASE_MAX_CONNECTIONS`, default 10).
    pub database_max_connections: u32,
    /// Token verification (`JWT_SECRET`, `AUTH_JWKS_URL`).
    pub auth: AuthSettings,
}

/// The database `fleet` and the services use when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/taskfleet";

impl ServiceSettings {
    /// Reads the settings from the environment; `default_port` is the service's port of SPEC §2.
    pub fn from_env(default_port: u16) -> Result<Self, ConfigError> {
        let settings = Self {
            host: env_or("APP_HOST", IpAddr::from([0, 0, 0, 0]))?,
            port: env_or("APP_PORT", default_port)?,
            dapr_http_port: env_or("DAPR_HTTP_PORT", 3500)?,
            dapr_api_token: env_opt("DAPR_API_TOKEN")?,
            app_api_token: env_opt("APP_API_TOKEN")?,
            database_url: env_or("DATABASE_URL", DEFAULT_DATABASE_URL.to_owned())?,
            database_max_connections: env_or("DATABASE_MAX_CONNECTIONS", 10)?,
            auth: AuthSettings {
                jwt_secret: env_opt("JWT_SECRET")?,
                jwks_url: env_opt("AUTH_JWKS_URL")?,
            },
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the cross-field rules: some way to verify tokens, a strong enough secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.jwt_secret.is_none() && self.auth.jwks_url.is_none() {
            return Err(ConfigError {
                name: "JWT_SECRET/AUTH_JWKS_URL".to_owned(),
                problem: "set at least one, or no request could ever be authenticated".to_owned(),
            });
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.len() < MIN_JWT_SECRET_LEN
        {
            return Err(ConfigError {
                name: "JWT_SECRET".to_owned(),
                problem: format!("must be at least {MIN_JWT_SECRET_LEN} bytes"),
            });
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError {
                name: "DATABASE_MAX_CONNECTIONS".to_owned(),
                problem: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }
}
