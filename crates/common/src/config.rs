//! Typed settings read from the environment once at start-up and validated there, so a
//! misconfigured service refuses to start instead of failing on its first request. Every
//! variable is documented in `.env.example`.

use secrecy::{ExposeSecret, SecretString};
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
    var_or(&process_env, name, default)
}

/// Reads `name` if set and non-empty.
pub fn env_opt<T: FromStr>(name: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    var_opt(&process_env, name)
}

/// Where settings come from: the process environment in services, a map in tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn var_or<T: FromStr>(lookup: Lookup<'_>, name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    Ok(var_opt(lookup, name)?.unwrap_or(default))
}

fn var_opt<T: FromStr>(lookup: Lookup<'_>, name: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name) {
        Some(raw) if !raw.trim().is_empty() => {
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
/// The smallest app token accepted from `APP_API_TOKEN`.
pub const MIN_APP_TOKEN_LEN: usize = 16;

/// The development JWT secret `fleet` uses when `JWT_SECRET` is not set. It is public (it is
/// in this repository), so a service outside development refuses it.
pub const DEV_JWT_SECRET: &str = "taskfleet-dev-secret-do-not-use-in-production";

/// Secrets that were ever committed to this repository; never accepted outside development.
const PUBLISHED_SECRETS: [&str; 2] = [DEV_JWT_SECRET, "local-dev-only-jwt-secret-0123456789abcdef"];

/// Where a service runs (`TASKFLEET_ENV`): `production` unless told `development`. Production
/// refuses to start without an app token or with a published secret; development (`fleet`, a
/// laptop) allows both, with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// The default: every safeguard on.
    #[default]
    Production,
    /// Explicitly chosen with `TASKFLEET_ENV=development`.
    Development,
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Self::Production),
            "development" | "dev" => Ok(Self::Development),
            other => Err(format!("expected production or development, got {other:?}")),
        }
    }
}

/// What every service needs: where to listen, where its sidecar and database are, how to
/// authenticate callers.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Interface to bind (`APP_HOST`, default 127.0.0.1: the sidecar reaches the app over
    /// loopback; Kubernetes sets 0.0.0.0 so probes and the Service reach the pod).
    pub host: IpAddr,
    /// Port to bind (`APP_PORT`; 0 picks a free one, as tests do).
    pub port: u16,
    /// The sidecar's HTTP port (`DAPR_HTTP_PORT`, default 3500).
    pub dapr_http_port: u16,
    /// Sent to the sidecar as `dapr-api-token` (`DAPR_API_TOKEN`).
    pub dapr_api_token: Option<SecretString>,
    /// Required from the sidecar on internal routes (`APP_API_TOKEN`). Only development runs
    /// without one (and then the internal routes are open: see [`Environment`]).
    pub app_api_token: Option<SecretString>,
    /// Postgres (`DATABASE_URL`).
    pub database_url: String,
    /// Pool size (`DATABASE_MAX_CONNECTIONS`, default 10).
    pub database_max_connections: u32,
    /// Token verification (`JWT_SECRET`, `AUTH_JWKS_URL`, `AUTH_ISSUER`, `AUTH_AUDIENCE`).
    pub auth: AuthSettings,
}

/// The database `fleet` and the services use when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/taskfleet";

impl ServiceSettings {
    /// Where the service listens.
    pub fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }

    /// Reads the settings from the environment; `default_port` is the service's port of
    /// docs/contract.md §2.
    pub fn from_env(default_port: u16) -> Result<Self, ConfigError> {
        Self::from_lookup(default_port, &process_env)
    }

    /// Reads the settings from `lookup` and applies the rules of `TASKFLEET_ENV`.
    pub fn from_lookup(default_port: u16, lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let environment: Environment = var_or(lookup, "TASKFLEET_ENV", Environment::Production)?;
        let settings = Self {
            host: var_or(lookup, "APP_HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: var_or(lookup, "APP_PORT", default_port)?,
            dapr_http_port: var_or(lookup, "DAPR_HTTP_PORT", 3500)?,
            dapr_api_token: var_opt::<String>(lookup, "DAPR_API_TOKEN")?.map(SecretString::from),
            app_api_token: var_opt::<String>(lookup, "APP_API_TOKEN")?.map(SecretString::from),
            database_url: var_or(lookup, "DATABASE_URL", DEFAULT_DATABASE_URL.to_owned())?,
            database_max_connections: var_or(lookup, "DATABASE_MAX_CONNECTIONS", 10)?,
            auth: AuthSettings {
                jwt_secret: var_opt::<String>(lookup, "JWT_SECRET")?.map(SecretString::from),
                jwks_url: var_opt(lookup, "AUTH_JWKS_URL")?,
                issuer: var_opt(lookup, "AUTH_ISSUER")?,
                audience: var_opt(lookup, "AUTH_AUDIENCE")?,
            },
        };
        settings.validate()?;
        settings.check_environment(environment)?;
        Ok(settings)
    }

    /// What production refuses and development only warns about: no app token (every internal
    /// route would answer anyone) and a secret published in this repository.
    pub fn check_environment(&self, environment: Environment) -> Result<(), ConfigError> {
        let published = self
            .auth
            .jwt_secret
            .as_ref()
            .is_some_and(|secret| PUBLISHED_SECRETS.contains(&secret.expose_secret()));
        match environment {
            Environment::Production => {
                match &self.app_api_token {
                    None => {
                        return Err(ConfigError {
                            name: "APP_API_TOKEN".to_owned(),
                            problem: "required: without it anyone who reaches the port can \
                                      post events and cron ticks (set TASKFLEET_ENV=development \
                                      to run without one on a laptop)"
                                .to_owned(),
                        });
                    }
                    Some(token) if token.expose_secret().len() < MIN_APP_TOKEN_LEN => {
                        return Err(ConfigError {
                            name: "APP_API_TOKEN".to_owned(),
                            problem: format!("must be at least {MIN_APP_TOKEN_LEN} bytes"),
                        });
                    }
                    Some(_) => {}
                }
                if published {
                    return Err(ConfigError {
                        name: "JWT_SECRET".to_owned(),
                        problem: "is a development secret published in the repository; \
                                  generate one (openssl rand -hex 32)"
                            .to_owned(),
                    });
                }
            }
            Environment::Development => {
                if self.app_api_token.is_none() {
                    tracing::warn!(
                        "APP_API_TOKEN is not set: internal routes (event deliveries, cron) answer any caller"
                    );
                }
                if published {
                    tracing::warn!("JWT_SECRET is the published development secret");
                }
            }
        }
        Ok(())
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
            && secret.expose_secret().len() < MIN_JWT_SECRET_LEN
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<ServiceSettings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ServiceSettings::from_lookup(8000, &move |name| vars.get(name).cloned())
    }

    const SECRET: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef-x");
    const TOKEN: (&str, &str) = ("APP_API_TOKEN", "a-long-enough-app-token");

    #[test]
    fn a_service_refuses_to_start_without_an_app_token_outside_development() {
        let error = settings(&[SECRET]).unwrap_err();
        assert_eq!(error.name, "APP_API_TOKEN");
        let error = settings(&[SECRET, ("APP_API_TOKEN", "short")]).unwrap_err();
        assert_eq!(error.name, "APP_API_TOKEN");
        assert!(settings(&[SECRET, TOKEN]).is_ok());
        assert!(settings(&[SECRET, ("TASKFLEET_ENV", "development")]).is_ok());
    }

    #[test]
    fn a_published_development_secret_is_refused_outside_development() {
        for secret in PUBLISHED_SECRETS {
            let error = settings(&[("JWT_SECRET", secret), TOKEN]).unwrap_err();
            assert_eq!(error.name, "JWT_SECRET");
            assert!(settings(&[("JWT_SECRET", secret), ("TASKFLEET_ENV", "development")]).is_ok());
        }
    }

    #[test]
    fn services_bind_loopback_unless_told_otherwise() {
        let local = settings(&[SECRET, TOKEN]).unwrap();
        assert_eq!(local.host, IpAddr::from([127, 0, 0, 1]));
        let all = settings(&[SECRET, TOKEN, ("APP_HOST", "0.0.0.0")]).unwrap();
        assert_eq!(all.host, IpAddr::from([0, 0, 0, 0]));
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        let error = settings(&[SECRET, TOKEN, ("TASKFLEET_ENV", "staging")]).unwrap_err();
        assert_eq!(error.name, "TASKFLEET_ENV");
    }
}
