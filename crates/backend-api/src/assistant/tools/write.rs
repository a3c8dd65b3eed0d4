//! The changing tools: add, update, complete, reopen — each in its own transaction through
//! the shared task operations — and delete, which only draws a confirmation card.

use common::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TaskView, ToolContext, api_failure, args, failure, priority, task_id, task_view};
use crate::assistant::store;
use crate::quickadd::{parse_repeat, parse_when};
use crate::tasks::service;
use crate::tasks::{Caller, CreateTaskRequest, UpdateTaskRequest};

#[derive(Deserialize)]
struct AddArgs {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    repeat: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

pub(super) async fn add_task(context: &ToolContext<'_>, raw: &Value) -> Result<Value, Value> {
    let add: AddArgs = args(raw)?;
    let mut request = CreateTaskRequest {
        title: add.title,
        description: add.description,
        priority: priority(add.priority.as_deref())?,
        tags: add.tags,
        due_date: None,
        reminder_at: None,
        recurring_rule: None,
        recurring_mode: None,
        recurring_end_date: None,
        timezone: Some(context.timezone.to_owned()),
    };
    if let Some(repeat) = add.repeat.as_deref().filter(|r| !r.trim().is_empty()) {
        let (rule, mode, first) = parse_repeat(repeat, context.tz, context.now)
            .map_err(|e| failure("invalid_repeat", e))?;
        request.recurring_rule = Some(rule);
        request.recurring_mode = Some(mode);
        request.due_date = Some(first);
    }
    if let Some(when) = add.when.as_deref().filter(|w| !w.trim().is_empty()) {
        let due =
            parse_when(when, context.tz, context.now).map_err(|e| failure("invalid_date", e))?;
        request.due_date = Some(due);
    }
    let created = write(context, |conn, caller| {
        Box::pin(async move {
            service::create(conn, caller, request, None)
                .await
                .map(|c| c.task)
        })
    })
    .await?;
    Ok(json!({"created": task_view(&created, context.tz)}))
}

pub(super) async fn update_task(context: &ToolContext<'_>, raw: &Value) -> Result<Value, Value> {
    let id = task_id(raw)?;
    let text = |field: &str| raw.get(field).and_then(Value::as_str).map(str::to_owned);
    let mut request = UpdateTaskRequest {
        title: text("title"),
        description: text("description"),
        priority: priority(raw.get("priority").and_then(Value::as_str))?,
        tags: match raw.get("tags") {
            Some(tags) if !tags.is_null() => Some(args(tags)?),
            _ => None,
        },
        ..UpdateTaskRequest::default()
    };
    match raw.get("when") {
        None => {}
        Some(Value::Null) => request.due_date = Some(None),
        Some(when) => {
            let phrase = when.as_str().unwrap_or_default();
            let due = parse_when(phrase, context.tz, context.now)
                .map_err(|e| failure("invalid_date", e))?;
            request.due_date = Some(Some(due));
        }
    }
    match raw.get("repeat") {
        None => {}
        Some(Value::Null) => request.recurring_rule = Some(None),
        Some(repeat) => {
            let phrase = repeat.as_str().unwrap_or_default();
            let (rule, mode, _) = parse_repeat(phrase, context.tz, context.now)
                .map_err(|e| failure("invalid_repeat", e))?;
            request.recurring_rule = Some(Some(rule));
            request.recurring_mode = Some(mode);
        }
    }
    let updated = write(context, |conn, caller| {
        Box::pin(async move { service::update(conn, caller, id, request, None).await })
    })
    .await?;
    Ok(json!({"updated": task_view(&updated, context.tz)}))
}

/// A status change a single-task tool makes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Transition {
    Complete,
    Reopen,
}

pub(super) async fn transition(
    context: &ToolContext<'_>,
    raw: &Value,
    transition: Transition,
) -> Result<Value, Value> {
    let id = task_id(raw)?;
    let task = write(context, |conn, caller| {
        Box::pin(async move {
            match transition {
                Transition::Complete => service::complete(conn, caller, id, None).await,
                Transition::Reopen => service::reopen(conn, caller, id, None).await,
            }
        })
    })
    .await?;
    Ok(json!({"task": task_view(&task, context.tz)}))
}

/// A card a tool drew, as the model (and the UI, which renders it in the thread) reads it.
#[derive(Debug, Serialize)]
struct DrawnCard<'a> {
    id: Uuid,
    action: store::CardAction,
    expires_at: chrono::DateTime<chrono::Utc>,
    /// The one task, when the card names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<TaskView<'a>>,
    tasks: Vec<TaskView<'a>>,
}

/// Most tasks one bulk card may name.
pub const MAX_BULK: usize = 50;

pub(super) async fn delete_task(context: &ToolContext<'_>, raw: &Value) -> Result<Value, Value> {
    let id = task_id(raw)?;
    ask_confirmation(context, store::CardAction::DeleteTask, &[id]).await
}

#[derive(Deserialize)]
struct BulkArgs {
    ids: Vec<String>,
}

/// `delete_tasks` and `complete_tasks`: one card for several tasks.
pub(super) async fn bulk(
    context: &ToolContext<'_>,
    raw: &Value,
    action: store::CardAction,
) -> Result<Value, Value> {
    let bulk: BulkArgs = args(raw)?;
    // Checked before any work, so a huge list costs nothing.
    if bulk.ids.is_empty() || bulk.ids.len() > MAX_BULK {
        return Err(failure(
            "invalid_arguments",
            format!("ids must name 1–{MAX_BULK} tasks"),
        ));
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for raw_id in &bulk.ids {
        let id = Uuid::parse_str(raw_id.trim())
            .map_err(|_| failure("not_found", format!("task {raw_id:?} not found")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ask_confirmation(context, action, &ids).await
}

/// Draws a confirmation card for `action` on the caller's tasks `ids` (each must exist and be
/// the caller's) and changes nothing: the user decides in the app.
async fn ask_confirmation(
    context: &ToolContext<'_>,
    action: store::CardAction,
    ids: &[Uuid],
) -> Result<Value, Value> {
    let mut tx = context
        .pool
        .begin()
        .await
        .map_err(|e| api_failure(&e.into()))?;
    let mut tasks = Vec::with_capacity(ids.len());
    for id in ids {
        let task = service::get(&mut tx, &context.caller.user_id, *id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound(_) => failure("not_found", format!("task {id} not found")),
                other => api_failure(&other),
            })?;
        tasks.push(task);
    }
    let targets: Vec<store::Target> = tasks
        .iter()
        .map(|t| store::Target {
            task_id: t.id,
            task_version: t.version,
        })
        .collect();
    let card = store::NewConfirmation {
        user_id: &context.caller.user_id,
        thread_id: context.thread_id,
        action,
        targets: &targets,
        ttl: context.confirmation_ttl,
    };
    let created = async {
        let created = store::create_confirmation(&mut tx, card).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(created)
    };
    let (id, expires_at) = created.await.map_err(|e| api_failure(&e.into()))?;
    let tasks: Vec<TaskView> = tasks.iter().map(|t| task_view(t, context.tz)).collect();
    let card = DrawnCard {
        id,
        action,
        expires_at,
        task: match tasks.as_slice() {
            [single] => Some(single.clone()),
            _ => None,
        },
        tasks,
    };
    Ok(json!({
        "status": "confirmation_required",
        "message": "Nothing was changed yet. The user must confirm this card in the app.",
        "confirmation": card,
    }))
}

type WriteFuture<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>> + Send + 'c>>;

/// Runs one task operation in its own transaction as the assistant.
async fn write<T, F>(context: &ToolContext<'_>, operation: F) -> Result<T, Value>
where
    F: for<'c> FnOnce(&'c mut sqlx::PgConnection, &'c Caller) -> WriteFuture<'c, T>,
{
    let run = async {
        let mut tx = context.pool.begin().await?;
        let value = operation(&mut tx, context.caller).await?;
        common::outbox::commit(tx).await?;
        Ok::<T, ApiError>(value)
    };
    run.await.map_err(|e| api_failure(&e))
}
