//! The reading tools: list, find, get and stats.

use chrono::{Days, NaiveTime};
use common::tasks::TaskStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{TaskView, ToolContext, api_failure, args, failure, task_id, task_view};
use crate::quickadd::{localize, parse_when};
use crate::tasks::service::{self, TaskFilter};

#[derive(Deserialize)]
struct ListArgs {
    #[serde(default)]
    status: Option<TaskStatus>,
    #[serde(default)]
    limit: Option<i64>,
}

async fn page(context: &ToolContext<'_>, filter: TaskFilter) -> Result<Value, Value> {
    let query = filter
        .into_query(context.tz.name())
        .map_err(|e| api_failure(&e))?;
    let mut conn = context
        .pool
        .acquire()
        .await
        .map_err(|e| api_failure(&e.into()))?;
    let page = service::list(&mut conn, &context.caller.user_id, &query)
        .await
        .map_err(|e| api_failure(&e))?;
    let tasks: Vec<TaskView> = page
        .items
        .iter()
        .map(|t| task_view(t, context.tz))
        .collect();
    Ok(json!({"tasks": tasks, "next_cursor": page.next_cursor}))
}

pub(super) async fn list_tasks(context: &ToolContext<'_>, raw: &Value) -> Result<Value, Value> {
    let list: ListArgs = args(raw)?;
    let filter = TaskFilter {
        status: Some(list.status.unwrap_or(TaskStatus::Pending)),
        sort: Some("due_date".to_owned()),
        limit: Some(list.limit.unwrap_or(50)),
        ..TaskFilter::default()
    };
    page(context, filter).await
}

pub(super) async fn find_tasks(context: &ToolContext<'_>, mut raw: Value) -> Result<Value, Value> {
    // Date bounds may be phrases; they become timestamps here, in the user's zone.
    for bound in ["due_before", "due_after"] {
        if let Some(phrase) = raw.get(bound).and_then(Value::as_str) {
            let at = parse_when(phrase, context.tz, context.now)
                .map_err(|e| failure("invalid_date", e))?;
            raw[bound] = json!(at.to_rfc3339());
        }
    }
    let filter: TaskFilter = args(&raw)?;
    page(context, filter).await
}

pub(super) async fn get_task(context: &ToolContext<'_>, raw: &Value) -> Result<Value, Value> {
    let id = task_id(raw)?;
    let mut conn = context
        .pool
        .acquire()
        .await
        .map_err(|e| api_failure(&e.into()))?;
    let task = service::get(&mut conn, &context.caller.user_id, id)
        .await
        .map_err(|e| api_failure(&e))?;
    Ok(json!({"task": task_view(&task, context.tz)}))
}

/// Counts of the user's tasks, "today" in the user's zone.
#[derive(Debug, Serialize)]
struct Stats {
    pending: i64,
    completed: i64,
    overdue: i64,
    due_today: i64,
    pending_high_priority: i64,
}

pub(super) async fn get_stats(context: &ToolContext<'_>) -> Result<Value, Value> {
    let today = context.now.with_timezone(&context.tz).date_naive();
    let start = localize(context.tz, today.and_time(NaiveTime::MIN));
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let end = localize(context.tz, tomorrow.and_time(NaiveTime::MIN));
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'pending'), \
                count(*) FILTER (WHERE status = 'completed'), \
                count(*) FILTER (WHERE status = 'pending' AND due_date < $2), \
                count(*) FILTER (WHERE status = 'pending' AND due_date >= $3 AND due_date < $4), \
                count(*) FILTER (WHERE status = 'pending' AND priority = 'high') \
         FROM tasks WHERE user_id = $1",
    )
    .bind(&context.caller.user_id)
    .bind(context.now)
    .bind(start)
    .bind(end)
    .fetch_one(context.pool)
    .await
    .map_err(|e| api_failure(&e.into()))?;
    let stats = Stats {
        pending: row.0,
        completed: row.1,
        overdue: row.2,
        due_today: row.3,
        pending_high_priority: row.4,
    };
    Ok(json!(stats))
}
