//! A user's tasks as a file: JSON (every field, as the API returns tasks) or CSV (one row per
//! task, for spreadsheets).

use chrono::{DateTime, SecondsFormat, Utc};
use common::tasks::{TASK_COLUMNS, Task};
use serde::Serialize;
use sqlx::PgPool;

/// Rows read from the database at a time.
const PAGE: i64 = 1000;

/// Every task of the user (open and completed; not the trash), oldest first.
pub async fn all_tasks(pool: &PgPool, user_id: &str) -> Result<Vec<Task>, sqlx::Error> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 \
           AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) \
         ORDER BY created_at, id LIMIT $4"
    );
    let mut tasks: Vec<Task> = Vec::new();
    loop {
        let after = tasks.last().map(|t| (t.created_at, t.id));
        let page: Vec<Task> = sqlx::query_as(&sql)
            .bind(user_id)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .bind(PAGE)
            .fetch_all(pool)
            .await?;
        let last = page.len() < PAGE as usize;
        tasks.extend(page);
        if last {
            return Ok(tasks);
        }
    }
}

#[derive(Serialize)]
struct JsonExport<'a> {
    exported_at: DateTime<Utc>,
    tasks: &'a [Task],
}

/// `{"exported_at": …, "tasks": [...]}`.
pub fn json(tasks: &[Task], now: DateTime<Utc>) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec_pretty(&JsonExport {
        exported_at: now,
        tasks,
    })
}

const CSV_HEADER: [&str; 15] = [
    "id",
    "title",
    "description",
    "status",
    "priority",
    "tags",
    "due_date",
    "reminder_at",
    "recurring_rule",
    "recurring_mode",
    "recurring_end_date",
    "timezone",
    "created_at",
    "updated_at",
    "completed_at",
];

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first)
/// gets a leading `'`, so opening the export cannot run what someone typed into a task.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// One row per task under a header; tags separated by spaces.
pub fn csv(tasks: &[Task]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for task in tasks {
        let text = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        writer.write_record([
            task.id.to_string(),
            cell(&task.title),
            cell(&task.description),
            text(serde_json::json!(task.status)),
            text(serde_json::json!(task.priority)),
            cell(&task.tags.join(" ")),
            time(task.due_date),
            time(task.reminder_at),
            task.recurring_rule.clone().unwrap_or_default(),
            text(serde_json::json!(task.recurring_mode)),
            time(task.recurring_end_date),
            task.timezone.clone(),
            time(Some(task.created_at)),
            time(Some(task.updated_at)),
            time(task.completed_at),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_text_and_defuses_formulas() {
        let mut task = testkit::task("alice", "");
        task.title = "=HYPERLINK(\"http://evil\")".to_owned();
        task.description = "two\nlines, with comma".to_owned();
        task.tags = vec!["home".to_owned(), "-x".to_owned()];
        let out = String::from_utf8(csv(&[task]).expect("written")).expect("UTF-8");
        assert_eq!(out.lines().next(), Some(CSV_HEADER.join(",").as_str()));
        assert!(
            out.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{out}"
        );
        assert!(out.contains("\"two\nlines, with comma\""), "{out}");
        assert!(out.contains(",home -x,"), "{out}");
    }
}
