//! backend-api's per-user budgets (ADR 0003): task writes, quick-add parsing, `/mcp` calls and calendar
//! feed fetches.
//! Defaults sit far above what a person does in the app and far below what a script can send;
//! each can be changed (calls per minute, `0` = off) through its environment variable.

use std::sync::Arc;

use common::config::ConfigError;
use common::limits::{LimitOf, Rate, UserLimit};

use crate::startup::AppState;

/// Task writes (create, update, delete, complete, reopen): `LIMIT_WRITES_PER_MINUTE`.
pub const WRITES: Rate = Rate::per_minute(1200);
/// `POST /api/tasks/parse` (the quick-add field parses as the user types):
/// `LIMIT_PARSE_PER_MINUTE`.
pub const PARSE: Rate = Rate::per_minute(240);
/// `/mcp` requests: `LIMIT_MCP_PER_MINUTE`.
pub const MCP: Rate = Rate::per_minute(300);
/// Calendar feed fetches (apps poll every 15 minutes or so): `LIMIT_CALENDAR_PER_MINUTE`.
pub const CALENDAR: Rate = Rate::per_minute(60);

/// The budgets, shared by every request.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Task writes.
    pub writes: Arc<UserLimit>,
    /// Quick-add parsing.
    pub parse: Arc<UserLimit>,
    /// `/mcp`.
    pub mcp: Arc<UserLimit>,
    /// `/calendar.ics`.
    pub calendar: Arc<UserLimit>,
}

impl ApiLimits {
    /// The budgets at the given rates.
    pub fn new(writes: Rate, parse: Rate, mcp: Rate, calendar: Rate) -> Self {
        Self {
            writes: UserLimit::new("writes", writes),
            parse: UserLimit::new("parse", parse),
            mcp: UserLimit::new("mcp", mcp),
            calendar: UserLimit::new("calendar", calendar),
        }
    }

    /// The budgets from `LIMIT_*_PER_MINUTE`, else the defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(
            Rate::from_env("LIMIT_WRITES_PER_MINUTE", WRITES)?,
            Rate::from_env("LIMIT_PARSE_PER_MINUTE", PARSE)?,
            Rate::from_env("LIMIT_MCP_PER_MINUTE", MCP)?,
            Rate::from_env("LIMIT_CALENDAR_PER_MINUTE", CALENDAR)?,
        ))
    }

    /// Every budget, for the idle-user janitor.
    pub fn all(&self) -> Vec<Arc<UserLimit>> {
        vec![
            self.writes.clone(),
            self.parse.clone(),
            self.mcp.clone(),
            self.calendar.clone(),
        ]
    }
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self::new(WRITES, PARSE, MCP, CALENDAR)
    }
}

/// The task-write budget, for [`common::limits::Limited`].
pub enum Writes {}

impl LimitOf<AppState> for Writes {
    fn limit(state: &AppState) -> &UserLimit {
        &state.limits.writes
    }
}

/// The quick-add budget, for [`common::limits::Limited`].
pub enum Parse {}

impl LimitOf<AppState> for Parse {
    fn limit(state: &AppState) -> &UserLimit {
        &state.limits.parse
    }
}
