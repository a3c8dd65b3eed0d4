//! Reminders while no tab is open: Web Push.
//!
//! A browser registers its push subscription (`POST /api/push/subscriptions`, bound to this
//! deployment's VAPID key, `GET /api/push/public-key`); when a reminder fires, [`send`] posts an
//! encrypted message to each of the user's browsers' push services, whose service worker shows
//! it. Without `VAPID_PRIVATE_KEY` push is off: the routes answer 404 `push_disabled` and
//! reminders reach open tabs only.

pub mod send;
pub mod subscriptions;
mod vapid;

use common::config::{ConfigError, env_opt, env_or};

pub use vapid::VapidKey;

/// The VAPID private key `fleet` uses when `VAPID_PRIVATE_KEY` is not set, so that browsers'
/// subscriptions survive its restarts on a laptop. Published here: never for a deployment.
pub const DEV_VAPID_PRIVATE_KEY: &str = "fC-iPle47W7LJltxyD8qbbx6jdyVAE3BjxZQwt7p3gg";

/// What push needs from the environment.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `VAPID_PRIVATE_KEY` (32 bytes, base64url); `None` turns push off.
    pub key: Option<VapidKey>,
    /// `VAPID_SUBJECT`: the contact push services may write to about this sender (`mailto:` or
    /// `https:`).
    pub subject: String,
    /// `WEB_PUSH_ALLOW_INSECURE_ENDPOINTS`: accept `http:` endpoints and hosts on this machine
    /// or a private network (tests, development with a stand-in push service). Off by default:
    /// an endpoint is a URL the service posts to for whoever registered it.
    pub allow_insecure_endpoints: bool,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            key: None,
            subject: "mailto:admin@localhost".to_owned(),
            allow_insecure_endpoints: false,
        }
    }
}

impl PushSettings {
    /// From `VAPID_PRIVATE_KEY`, `VAPID_SUBJECT` and `WEB_PUSH_ALLOW_INSECURE_ENDPOINTS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let key = env_opt::<String>("VAPID_PRIVATE_KEY")?
            .filter(|k| !k.trim().is_empty())
            .map(|k| {
                VapidKey::from_private_key(&k).map_err(|problem| ConfigError {
                    name: "VAPID_PRIVATE_KEY".to_owned(),
                    problem,
                })
            })
            .transpose()?;
        let subject: String = env_or("VAPID_SUBJECT", Self::default().subject)?;
        if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
            return Err(ConfigError {
                name: "VAPID_SUBJECT".to_owned(),
                problem: "must be a mailto: or https: URL".to_owned(),
            });
        }
        Ok(Self {
            key,
            subject,
            allow_insecure_endpoints: env_or("WEB_PUSH_ALLOW_INSECURE_ENDPOINTS", false)?,
        })
    }
}

/// Push as the handlers use it: the settings and one HTTP client for every push service.
#[derive(Debug, Clone)]
pub struct Push {
    /// See [`PushSettings`].
    pub settings: PushSettings,
    client: reqwest::Client,
}

impl Push {
    /// Push with `settings`.
    pub fn new(settings: PushSettings) -> Self {
        Self {
            client: send::client(settings.allow_insecure_endpoints),
            settings,
        }
    }

    /// The VAPID key, when push is on.
    pub fn key(&self) -> Option<&VapidKey> {
        self.settings.key.as_ref()
    }
}
