//! The assistant's settings, read from the environment by backend-api alone (the other
//! services have no use for them). Without `ASSISTANT_API_KEY` the assistant is off.

use common::SecretString;
use std::time::Duration;

use common::config::{ConfigError, env_opt, env_or};
use serde_json::{Map, Value};

/// How the assistant reaches its model and how much a user may use it.
#[derive(Clone)]
pub struct AssistantSettings {
    /// `ASSISTANT_API_KEY`; `None` disables the assistant. Sent only to the provider.
    pub api_key: Option<SecretString>,
    /// `ASSISTANT_BASE_URL`, the OpenAI-compatible API root (`…/v1`); `/chat/completions` is
    /// appended. Default `https://api.openai.com/v1`.
    pub base_url: String,
    /// `ASSISTANT_MODEL`, default `gpt-4o-mini`.
    pub model: String,
    /// `ASSISTANT_EXTRA_BODY`: a JSON object merged into every request body (provider
    /// specific fields such as `{"temperature":0}` or `{"enable_thinking":false}`).
    pub extra_body: Map<String, Value>,
    /// `ASSISTANT_TOOL_CHOICE` (`auto`, `required`, …). Unset: the field is omitted, because
    /// some servers refuse requests that carry it.
    pub tool_choice: Option<String>,
    /// `ASSISTANT_MAX_ROUNDS`: model calls per message at most (default 6), so a model that
    /// keeps calling tools cannot loop forever.
    pub max_rounds: u32,
    /// `ASSISTANT_TIMEOUT_SECS`: a model call that has not finished by then fails (default 60).
    pub timeout: Duration,
    /// `ASSISTANT_RATE_LIMIT_PER_MINUTE`: messages per user per minute (default 10).
    pub rate_limit_per_minute: u32,
    /// `ASSISTANT_DAILY_TOKEN_LIMIT`: tokens per user per UTC day (default 200 000), as the
    /// provider reports them (`usage`), estimated from the text when it reports none.
    pub daily_token_limit: u64,
    /// `ASSISTANT_CONFIRMATION_TTL_SECS`: how long a confirmation card can be confirmed
    /// (default 900). Also applies to cards asked for over MCP.
    pub confirmation_ttl: Duration,
}

impl std::fmt::Debug for AssistantSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log line.
        f.debug_struct("AssistantSettings")
            .field("enabled", &self.api_key.is_some())
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("tool_choice", &self.tool_choice)
            .field("max_rounds", &self.max_rounds)
            .field("timeout", &self.timeout)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("daily_token_limit", &self.daily_token_limit)
            .field("confirmation_ttl", &self.confirmation_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for AssistantSettings {
    /// Disabled, with the documented defaults for everything else.
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: "https://api.openai.com/v1".to_owned(),
            model: "gpt-4o-mini".to_owned(),
            extra_body: Map::new(),
            tool_choice: None,
            max_rounds: 6,
            timeout: Duration::from_secs(60),
            rate_limit_per_minute: 10,
            daily_token_limit: 200_000,
            confirmation_ttl: Duration::from_secs(900),
        }
    }
}

fn invalid(name: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        problem: problem.into(),
    }
}

impl AssistantSettings {
    /// Reads and validates the `ASSISTANT_*` variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let extra_body = match env_opt::<String>("ASSISTANT_EXTRA_BODY")? {
            None => Map::new(),
            Some(raw) => match serde_json::from_str::<Value>(&raw) {
                Ok(Value::Object(map)) => map,
                _ => return Err(invalid("ASSISTANT_EXTRA_BODY", "must be a JSON object")),
            },
        };
        let settings = Self {
            api_key: env_opt::<String>("ASSISTANT_API_KEY")?.map(SecretString::from),
            base_url: env_or("ASSISTANT_BASE_URL", defaults.base_url)?,
            model: env_or("ASSISTANT_MODEL", defaults.model)?,
            extra_body,
            tool_choice: env_opt("ASSISTANT_TOOL_CHOICE")?,
            max_rounds: env_or("ASSISTANT_MAX_ROUNDS", defaults.max_rounds)?,
            timeout: Duration::from_secs(env_or("ASSISTANT_TIMEOUT_SECS", 60)?),
            rate_limit_per_minute: env_or(
                "ASSISTANT_RATE_LIMIT_PER_MINUTE",
                defaults.rate_limit_per_minute,
            )?,
            daily_token_limit: env_or("ASSISTANT_DAILY_TOKEN_LIMIT", defaults.daily_token_limit)?,
            confirmation_ttl: Duration::from_secs(env_or(
                "ASSISTANT_CONFIRMATION_TTL_SECS",
                defaults.confirmation_ttl.as_secs(),
            )?),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the values that would make every call fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid("ASSISTANT_BASE_URL", "must be an http(s) URL"));
        }
        if self.max_rounds == 0 {
            return Err(invalid("ASSISTANT_MAX_ROUNDS", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("ASSISTANT_TIMEOUT_SECS", "must be at least 1"));
        }
        if self.rate_limit_per_minute == 0 {
            return Err(invalid(
                "ASSISTANT_RATE_LIMIT_PER_MINUTE",
                "must be at least 1",
            ));
        }
        if self.daily_token_limit == 0 {
            return Err(invalid("ASSISTANT_DAILY_TOKEN_LIMIT", "must be at least 1"));
        }
        if self.confirmation_ttl.is_zero() {
            return Err(invalid(
                "ASSISTANT_CONFIRMATION_TTL_SECS",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Whether a key is configured.
    pub fn enabled(&self) -> bool {
        self.api_key.is_some()
    }
}
