//! The `GET /api/tasks` filter as a JSON object, for callers that are not a query string (the
//! assistant's `find_tasks`).

use common::error::ApiError;
use common::tasks::{Priority, TaskStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::query::{DueView, ListQuery, TagMode};

/// The filter object of `GET /api/tasks` as JSON (the assistant's `find_tasks`): the same
/// parameters with the same meaning and limits; `tags` stands for the repeatable `tag`. The
/// `due` views are read in the zone [`TaskFilter::into_query`] is given (the conversation's or
/// the agent's), not in a `timezone` of the filter.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    /// `pending` or `completed`.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// `low`, `medium` or `high`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Tasks carrying every one of these tags (or any of them with `tag_mode` `any`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// `all` (the default) or `any`.
    #[serde(default)]
    pub tag_mode: Option<TagMode>,
    /// `today`, `upcoming` (today and the next 6 days) or `overdue`.
    #[serde(default)]
    pub due: Option<DueView>,
    /// Case-insensitive search in title and description.
    #[serde(default)]
    pub q: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub due_before: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub due_after: Option<String>,
    /// `due_date`, `priority`, `created_at`, `updated_at` or `title`, `-` for descending.
    #[serde(default)]
    pub sort: Option<String>,
    /// 1–200, default 50.
    #[serde(default)]
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl TaskFilter {
    /// Validates the filter exactly as the query string of `GET /api/tasks` is validated (it
    /// is rendered as one), so both entry points accept and refuse the same things. `timezone`
    /// is the IANA zone the `due` views are read in.
    pub fn into_query(self, timezone: &str) -> Result<ListQuery, ApiError> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let status = self.status.map(|s| enum_text(&s));
        let priority = self.priority.map(|p| enum_text(&p));
        let tag_mode = self.tag_mode.map(|m| enum_text(&m));
        let due = self.due.map(|d| enum_text(&d));
        let limit = self.limit.map(|l| l.to_string());
        let scalar = [
            ("status", status.as_deref()),
            ("priority", priority.as_deref()),
            ("tag_mode", tag_mode.as_deref()),
            ("due", due.as_deref()),
            ("timezone", Some(timezone)),
            ("q", self.q.as_deref()),
            ("due_before", self.due_before.as_deref()),
            ("due_after", self.due_after.as_deref()),
            ("sort", self.sort.as_deref()),
            ("limit", limit.as_deref()),
            ("cursor", self.cursor.as_deref()),
        ];
        for (name, value) in scalar {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        for tag in &self.tags {
            query.append_pair("tag", tag);
        }
        let raw = query.finish();
        ListQuery::parse(Some(raw.as_str()))
    }
}

fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}
