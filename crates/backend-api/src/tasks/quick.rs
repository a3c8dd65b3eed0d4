//! Reading a quick-add text into a create request, in the user's time zone (`POST
//! /api/tasks/parse`, the assistant's tools, `/mcp`).

use chrono_tz::Tz;
use common::error::ApiError;

use super::input::{CreateTaskRequest, normalize_tags};
use crate::quickadd::Span;

/// Reads an optional IANA zone name (default UTC) as a 422-checked `Tz`.
pub fn user_zone(name: Option<&str>) -> Result<(Tz, String), ApiError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("UTC");
    let tz: Tz = name.parse().map_err(|_| {
        ApiError::invalid_field(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )
    })?;
    Ok((tz, name.to_owned()))
}

/// The create request a quick-add text stands for, and where the text says it.
pub fn quick_add(
    text: &str,
    tz: Tz,
    timezone: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(CreateTaskRequest, Vec<Span>), ApiError> {
    let parsed = crate::quickadd::parse(text, tz, now);
    let tags = normalize_tags(&parsed.tags).map_err(|e| ApiError::invalid_field("tags", e))?;
    let task = CreateTaskRequest {
        title: parsed.title,
        description: None,
        priority: parsed.priority,
        tags: (!tags.is_empty()).then_some(tags),
        due_date: parsed.due_date,
        reminder_at: None,
        recurring_rule: parsed.recurring_rule,
        recurring_mode: parsed.recurring_mode,
        recurring_end_date: None,
        timezone: Some(timezone),
    };
    Ok((task, parsed.spans))
}
