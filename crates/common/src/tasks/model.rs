use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How urgent a task is; sorts by meaning (high > medium > low).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Do first.
    High,
}

impl Priority {
    /// The stored (and serialized) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Whether a task is done.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum TaskStatus {
    /// Not done yet.
    #[default]
    Pending,
    /// Done; `completed_at` is set.
    Completed,
}

impl TaskStatus {
    /// The stored (and serialized) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }
}

/// How the next occurrence of a recurring task is counted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum RecurringMode {
    /// The next occurrence follows the rule from the series start.
    #[default]
    Schedule,
    /// The next occurrence is counted from the moment the task is completed.
    Completion,
}

impl RecurringMode {
    /// The stored and serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Completion => "completion",
        }
    }
}

/// A task as stored and as returned by the API. Times are UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Task {
    /// The task's id.
    pub id: Uuid,
    /// The owner (JWT `sub`). Not serialized: the caller always is the owner.
    #[serde(skip)]
    pub user_id: String,
    /// 1–200 characters, trimmed.
    pub title: String,
    /// Up to 10 000 characters.
    pub description: String,
    /// `pending` or `completed`.
    pub status: TaskStatus,
    /// `low`, `medium` or `high`.
    pub priority: Priority,
    /// Up to 20 lower-case tags.
    pub tags: Vec<String>,
    /// When the task is due.
    pub due_date: Option<DateTime<Utc>>,
    /// When to remind the owner.
    pub reminder_at: Option<DateTime<Utc>>,
    /// A preset (`daily`, `weekdays`, `weekly`, `monthly`, `yearly`) or an RFC 5545 RRULE.
    pub recurring_rule: Option<String>,
    /// `schedule` or `completion`.
    pub recurring_mode: RecurringMode,
    /// The series ends after this time.
    pub recurring_end_date: Option<DateTime<Utc>>,
    /// IANA time zone in which recurrences are computed.
    pub timezone: String,
    /// The first occurrence of the series this task continues.
    pub parent_task_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Completion time, when completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Incremented on every change; the `ETag`.
    pub version: i64,
}

/// The fields of a task that a writer chooses; everything else is set by the repository.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The id to create the task under.
    pub id: Uuid,
    /// The owner.
    pub user_id: String,
    /// Validated title.
    pub title: String,
    /// Validated description.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Normalised tags.
    pub tags: Vec<String>,
    /// Due date.
    pub due_date: Option<DateTime<Utc>>,
    /// Reminder time.
    pub reminder_at: Option<DateTime<Utc>>,
    /// Validated recurrence rule.
    pub recurring_rule: Option<String>,
    /// Recurrence mode.
    pub recurring_mode: RecurringMode,
    /// End of the series.
    pub recurring_end_date: Option<DateTime<Utc>>,
    /// Validated IANA time zone.
    pub timezone: String,
    /// First occurrence of the series, for next occurrences.
    pub parent_task_id: Option<Uuid>,
}

impl NewTask {
    /// The task as it is stored when created at `now`: pending, version 1. Every time is cut
    /// to the microsecond, the database's precision, as sqlx cuts it when it sends it, so the
    /// task returned is the task stored.
    pub fn into_task(self, now: DateTime<Utc>) -> Task {
        let stored = |time: DateTime<Utc>| time.trunc_subsecs(6);
        let now = stored(now);
        Task {
            id: self.id,
            user_id: self.user_id,
            title: self.title,
            description: self.description,
            status: TaskStatus::Pending,
            priority: self.priority,
            tags: self.tags,
            due_date: self.due_date.map(stored),
            reminder_at: self.reminder_at.map(stored),
            recurring_rule: self.recurring_rule,
            recurring_mode: self.recurring_mode,
            recurring_end_date: self.recurring_end_date.map(stored),
            timezone: self.timezone,
            parent_task_id: self.parent_task_id,
            created_at: now,
            updated_at: now,
            completed_at: None,
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The task list writes these names into its SQL: they must be what the column stores.
    #[test]
    fn the_names_written_into_sql_are_the_stored_ones() {
        for status in [TaskStatus::Pending, TaskStatus::Completed] {
            assert_eq!(serde_json::json!(status), status.as_str());
        }
        for priority in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(serde_json::json!(priority), priority.as_str());
        }
    }
}
