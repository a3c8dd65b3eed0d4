//! All SQL of the assistant's tables (`migrations/20261126000005_assistant.sql`). Every query
//! filters by the owner's user id.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A conversation.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Thread {
    /// The thread's id.
    pub id: Uuid,
    /// From the first message.
    pub title: String,
    /// The IANA zone date phrases are read in.
    pub timezone: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub updated_at: DateTime<Utc>,
}

/// One entry of a thread.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Item {
    /// The item's id (time-ordered).
    pub id: Uuid,
    /// The thread.
    pub thread_id: Uuid,
    /// `user_message`, `assistant_message`, `tool_result`, `error` or `confirmation`.
    pub kind: String,
    /// Kind-specific JSON: `{"text"}`, `{"text","reasoning_content","tool_calls"}`,
    /// `{"tool_call_id","name","arguments","result"}`, `{"code","message"}` or
    /// `{"confirmation_id","action","task_id","status"}`.
    pub content: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A destructive action waiting for the user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Confirmation {
    /// The card's id.
    pub id: Uuid,
    /// The thread it was asked in.
    pub thread_id: Uuid,
    /// `delete_task`.
    pub action: String,
    /// The task it acts on.
    pub task_id: Uuid,
    /// The version shown to the user.
    pub task_version: i64,
    /// `pending`, `confirmed` or `cancelled`.
    pub status: String,
}

const THREAD_COLUMNS: &str = "id, title, timezone, created_at, updated_at";
const ITEM_COLUMNS: &str = "id, thread_id, kind, content, created_at";

/// Starts a thread for `user_id`.
pub async fn create_thread(
    conn: &mut PgConnection,
    user_id: &str,
    title: &str,
    timezone: &str,
) -> sqlx::Result<Thread> {
    let sql = format!(
        "INSERT INTO assistant_threads (id, user_id, title, timezone) VALUES ($1, $2, $3, $4) \
         RETURNING {THREAD_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(title)
        .bind(timezone)
        .fetch_one(conn)
        .await
}

/// The user's threads, most recently active first.
pub async fn list_threads(
    conn: &mut PgConnection,
    user_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<Thread>> {
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM assistant_threads WHERE user_id = $1 \
         ORDER BY updated_at DESC, id DESC LIMIT $2"
    );
    sqlx::query_as(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// One of the user's threads.
pub async fn get_thread(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Thread>> {
    let sql =
        format!("SELECT {THREAD_COLUMNS} FROM assistant_threads WHERE id = $1 AND user_id = $2");
    sqlx::query_as(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Marks the thread active now, titling it from `first_text` while it has no title.
pub async fn touch_thread(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
    first_text: &str,
) -> sqlx::Result<()> {
    let title: String = first_text.trim().chars().take(80).collect();
    sqlx::query(
        "UPDATE assistant_threads SET updated_at = now(), \
         title = CASE WHEN title = '' THEN $3 ELSE title END WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .bind(title)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an item (id: a fresh uuid v7) to the user's thread.
pub async fn add_item(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: &str,
    thread_id: Uuid,
    kind: &str,
    content: &Value,
) -> sqlx::Result<Item> {
    let sql = format!(
        "INSERT INTO assistant_items (id, thread_id, user_id, kind, content) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {ITEM_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(thread_id)
        .bind(user_id)
        .bind(kind)
        .bind(content)
        .fetch_one(conn)
        .await
}

/// The thread's items in order (the latest `limit`).
pub async fn list_items(
    conn: &mut PgConnection,
    user_id: &str,
    thread_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Item>> {
    let sql = format!(
        "SELECT * FROM (SELECT {ITEM_COLUMNS} FROM assistant_items \
         WHERE thread_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3) AS latest ORDER BY id"
    );
    sqlx::query_as(&sql)
        .bind(thread_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Records a user message unless the user already sent `per_minute` in the last minute;
/// `None` when over the limit. The advisory lock serialises one user's concurrent messages
/// (across replicas too), so the count cannot be raced past.
pub async fn add_user_message_within_limit(
    conn: &mut PgConnection,
    user_id: &str,
    thread_id: Uuid,
    text: &str,
    per_minute: u32,
) -> sqlx::Result<Option<Item>> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('assistant-rate:' || $1, 0))")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assistant_items WHERE user_id = $1 AND kind = 'user_message' \
         AND created_at > now() - interval '1 minute'",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if recent >= i64::from(per_minute) {
        return Ok(None);
    }
    let content = serde_json::json!({ "text": text });
    let id = Uuid::now_v7();
    let item = add_item(&mut *conn, id, user_id, thread_id, "user_message", &content).await?;
    Ok(Some(item))
}

/// Records a pending confirmation card.
pub async fn create_confirmation(
    conn: &mut PgConnection,
    user_id: &str,
    thread_id: Uuid,
    action: &str,
    task_id: Uuid,
    task_version: i64,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assistant_confirmations (id, user_id, thread_id, action, task_id, task_version) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(thread_id)
    .bind(action)
    .bind(task_id)
    .bind(task_version)
    .execute(conn)
    .await?;
    Ok(id)
}

/// The user's confirmation, locked until the transaction ends so it is decided once.
pub async fn lock_confirmation(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Confirmation>> {
    sqlx::query_as(
        "SELECT id, thread_id, action, task_id, task_version, status FROM assistant_confirmations \
         WHERE id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Records the user's decision.
pub async fn decide_confirmation(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
    status: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE assistant_confirmations SET status = $3, decided_at = now() \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .bind(status)
    .execute(conn)
    .await?;
    Ok(())
}
