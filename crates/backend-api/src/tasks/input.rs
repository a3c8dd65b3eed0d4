//! Request bodies and their validation (docs/contract.md §4 limits). Every problem is collected,
//! so one 422 names every bad field at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use common::error::ApiError;
use common::tasks::{NewTask, Priority, RecurringMode, Task};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 50;
const MAX_TIMEZONE: usize = 64;

/// Body of `POST /api/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// 1–200 characters after trimming.
    pub title: String,
    /// Up to 10 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Default `medium`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Up to 20 tags of 1–50 characters; stored lower-case, duplicates removed.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// RFC 3339.
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
    /// RFC 3339.
    #[serde(default)]
    pub reminder_at: Option<DateTime<Utc>>,
    /// A preset (`daily`, `weekdays`, `weekly`, `monthly`, `yearly`) or an RRULE.
    #[serde(default)]
    pub recurring_rule: Option<String>,
    /// `schedule` (default) or `completion`.
    #[serde(default)]
    pub recurring_mode: Option<RecurringMode>,
    /// RFC 3339; the series stops after it.
    #[serde(default)]
    pub recurring_end_date: Option<DateTime<Utc>>,
    /// IANA time zone, default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Body of `PATCH /api/tasks/{id}`: absent fields stay as they are; `null` clears a nullable
/// field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    /// New title.
    #[serde(default, deserialize_with = "not_null")]
    pub title: Option<String>,
    /// New description.
    #[serde(default, deserialize_with = "not_null")]
    pub description: Option<String>,
    /// New priority.
    #[serde(default, deserialize_with = "not_null")]
    pub priority: Option<Priority>,
    /// New tags (replaces the list).
    #[serde(default, deserialize_with = "not_null")]
    pub tags: Option<Vec<String>>,
    /// New due date, or `null` to clear.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_date: Option<Option<DateTime<Utc>>>,
    /// New reminder, or `null` to clear.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub reminder_at: Option<Option<DateTime<Utc>>>,
    /// New rule, or `null` to stop recurring.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub recurring_rule: Option<Option<String>>,
    /// New recurrence mode.
    #[serde(default, deserialize_with = "not_null")]
    pub recurring_mode: Option<RecurringMode>,
    /// New series end, or `null` to clear.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub recurring_end_date: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    #[serde(default, deserialize_with = "not_null")]
    pub timezone: Option<String>,
}

/// A field that cannot be cleared: absent stays `None` (via `#[serde(default)]`), present must
/// be a value — `null` is a 422, not a silently ignored field.
fn not_null<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(
            "cannot be null: leave the field out to keep its value",
        )),
    }
}

/// Present-but-null becomes `Some(None)`, absent stays `None` (via `#[serde(default)]`).
fn some<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Field → problem.
#[derive(Default)]
struct Problems(BTreeMap<&'static str, String>);

impl Problems {
    fn add(&mut self, field: &'static str, problem: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| problem.into());
    }

    fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(
                serde_json::to_value(self.0).unwrap_or_default(),
            ))
        }
    }
}

/// Postgres text cannot hold NUL, and no field has a use for it: refuse it instead of failing
/// in the database.
fn has_nul(value: &str) -> bool {
    value.contains('\0')
}

fn title(problems: &mut Problems, raw: &str) -> String {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        problems.add("title", "must not be empty");
    } else if len > MAX_TITLE {
        problems.add("title", format!("at most {MAX_TITLE} characters"));
    } else if has_nul(trimmed) {
        problems.add("title", "must not contain NUL characters");
    }
    trimmed.to_owned()
}

fn description(problems: &mut Problems, raw: &str) -> String {
    if raw.chars().count() > MAX_DESCRIPTION {
        problems.add(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        );
    } else if has_nul(raw) {
        problems.add("description", "must not contain NUL characters");
    }
    raw.to_owned()
}

/// Trims, lower-cases and deduplicates tags, keeping first-seen order.
pub fn normalize_tags(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for tag in raw {
        let tag = tag.trim().to_lowercase();
        let len = tag.chars().count();
        if len == 0 || len > MAX_TAG {
            return Err(format!("each tag must be 1–{MAX_TAG} characters"));
        }
        if has_nul(&tag) {
            return Err("tags must not contain NUL characters".to_owned());
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

fn tags(problems: &mut Problems, raw: &[String]) -> Vec<String> {
    normalize_tags(raw).unwrap_or_else(|problem| {
        problems.add("tags", problem);
        Vec::new()
    })
}

fn timezone(problems: &mut Problems, raw: &str) -> String {
    let name = raw.trim();
    if name.len() > MAX_TIMEZONE || name.parse::<Tz>().is_err() {
        problems.add(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        );
    }
    name.to_owned()
}

/// Whether `at` is a time a task may hold, or a list may filter on: years 1 to 9999 (UTC), what
/// RFC 3339 writes. chrono reads years far beyond (a sign and more digits); Postgres refuses
/// those before 4713 BC, which failed the statement with a 500 instead of answering the request.
pub(crate) fn storable(at: DateTime<Utc>) -> bool {
    (1..=9999).contains(&at.year())
}

fn time(
    problems: &mut Problems,
    field: &'static str,
    at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if at.is_some_and(|at| !storable(at)) {
        problems.add(field, "must be a time between the years 1 and 9999 (UTC)");
    }
    at
}

fn rule(problems: &mut Problems, raw: &str) -> String {
    common::recurrence::validate(raw).unwrap_or_else(|problem| {
        problems.add("recurring_rule", format!("invalid recurrence: {problem}"));
        String::new()
    })
}

impl CreateTaskRequest {
    /// Validates the request into the task to insert for `user_id`.
    pub fn into_new_task(self, user_id: &str) -> Result<NewTask, ApiError> {
        let mut problems = Problems::default();
        let new = NewTask {
            id: Uuid::now_v7(),
            user_id: user_id.to_owned(),
            title: title(&mut problems, &self.title),
            description: self
                .description
                .as_deref()
                .map(|d| description(&mut problems, d))
                .unwrap_or_default(),
            priority: self.priority.unwrap_or_default(),
            tags: self
                .tags
                .as_deref()
                .map(|t| tags(&mut problems, t))
                .unwrap_or_default(),
            due_date: time(&mut problems, "due_date", self.due_date),
            reminder_at: time(&mut problems, "reminder_at", self.reminder_at),
            recurring_rule: self
                .recurring_rule
                .as_deref()
                .map(|r| rule(&mut problems, r)),
            recurring_mode: self.recurring_mode.unwrap_or_default(),
            recurring_end_date: time(&mut problems, "recurring_end_date", self.recurring_end_date),
            timezone: self
                .timezone
                .as_deref()
                .map(|tz| timezone(&mut problems, tz))
                .unwrap_or_else(|| "UTC".to_owned()),
            parent_task_id: None,
        };
        problems.into_result()?;
        Ok(new)
    }
}

impl UpdateTaskRequest {
    /// Applies the patch to a copy of `task`; the caller compares the two to see what changed.
    pub fn apply(self, task: &Task) -> Result<Task, ApiError> {
        let mut problems = Problems::default();
        let mut next = task.clone();
        if let Some(raw) = self.title {
            next.title = title(&mut problems, &raw);
        }
        if let Some(raw) = self.description {
            next.description = description(&mut problems, &raw);
        }
        if let Some(priority) = self.priority {
            next.priority = priority;
        }
        if let Some(raw) = self.tags {
            next.tags = tags(&mut problems, &raw);
        }
        if let Some(due_date) = self.due_date {
            next.due_date = time(&mut problems, "due_date", due_date);
        }
        if let Some(reminder_at) = self.reminder_at {
            next.reminder_at = time(&mut problems, "reminder_at", reminder_at);
        }
        if let Some(raw) = self.recurring_rule {
            next.recurring_rule = raw.as_deref().map(|r| rule(&mut problems, r));
        }
        if let Some(mode) = self.recurring_mode {
            next.recurring_mode = mode;
        }
        if let Some(end) = self.recurring_end_date {
            next.recurring_end_date = time(&mut problems, "recurring_end_date", end);
        }
        if let Some(raw) = self.timezone {
            next.timezone = timezone(&mut problems, &raw);
        }
        problems.into_result()?;
        Ok(next)
    }
}
