//! The AI assistant (issue 6): natural-language task management that acts only as the
//! signed-in user. A model behind any OpenAI-compatible Chat Completions endpoint is given
//! tools ([`tools`]) that call the same task operations as the REST API, bound to the caller
//! with actor `assistant`, so ownership, validation, the outbox and the audit trail apply
//! unchanged. Threads and items live in Postgres per user ([`store`]); a message is answered by
//! a bounded tool loop streamed as server-sent events ([`conversation`]); destructive actions
//! wait for the user's confirmation ([`routes`]).

pub mod client;
pub mod conversation;
pub mod routes;
pub mod settings;
pub mod store;
mod stream;
pub mod tools;

pub use settings::AssistantSettings;

/// A configured assistant: its settings and the provider client.
pub struct Assistant {
    /// Model, limits, provider quirks.
    pub settings: AssistantSettings,
    /// The Chat Completions client.
    pub client: client::ChatClient,
}

impl Assistant {
    /// The assistant for `settings`, or `None` when no key is set (the assistant is off).
    pub fn from_settings(settings: AssistantSettings) -> anyhow::Result<Option<Self>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let client = client::ChatClient::new(settings.clone())?;
        Ok(Some(Self { settings, client }))
    }
}
