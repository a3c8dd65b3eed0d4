//! All SQL of the assistant's tables (`migrations/20261126000005_assistant.sql` and
//! `…06_assistant_limits.sql`). Every query filters by the owner's user id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

/// A conversation.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
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
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Item {
    /// The item's id (time-ordered).
    pub id: Uuid,
    /// The thread.
    pub thread_id: Uuid,
    /// What the item is.
    pub kind: ItemKind,
    /// Kind-specific JSON: `{"text"}`, `{"text","reasoning_content","tool_calls"}`,
    /// `{"tool_call_id","name","arguments","result"}`, `{"code","message"}` or
    /// `{"confirmation_id","action","task_ids","status"}`.
    pub content: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What an item of a thread is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ItemKind {
    /// The user's words: `{"text"}`.
    UserMessage,
    /// The model's answer: `{"text","reasoning_content","tool_calls"}`.
    AssistantMessage,
    /// A tool call and what it returned: `{"tool_call_id","name","arguments","result"}`.
    ToolResult,
    /// A turn that failed: `{"code","message"}`.
    Error,
    /// The user's decision on a card: `{"confirmation_id","action","task_ids","status"}`.
    Confirmation,
}

/// Who drew a confirmation card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CardSource {
    /// The in-app assistant, in a thread.
    Assistant,
    /// An external agent over `/mcp`.
    Mcp,
}

/// What a confirmation card does once the user confirms it (the tools that ask for one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CardAction {
    /// `delete_task`: one task.
    DeleteTask,
    /// `delete_tasks`: several tasks.
    DeleteTasks,
    /// `complete_tasks`: several tasks.
    CompleteTasks,
}

/// Where a card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CardStatus {
    Pending,
    Confirmed,
    Cancelled,
    Expired,
}

impl std::fmt::Display for CardStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        })
    }
}

/// A destructive action waiting for the user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Confirmation {
    /// The card's id.
    pub id: Uuid,
    /// The thread it was asked in (`None` for a card from an MCP agent).
    pub thread_id: Option<Uuid>,
    /// Who drew it.
    pub source: CardSource,
    pub action: CardAction,
    pub status: CardStatus,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// After this it can no longer be confirmed.
    pub expires_at: DateTime<Utc>,
    /// Whether `expires_at` has passed, by the database's clock (the one that set it).
    pub expired: bool,
}

/// A task named on a card, with the version the user was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Target {
    /// The task.
    pub task_id: Uuid,
    /// Its version when the card was drawn.
    pub task_version: i64,
}

/// A new card.
pub struct NewConfirmation<'a> {
    /// The owner.
    pub user_id: &'a str,
    /// The thread (in-app assistant) or `None` (MCP agent).
    pub thread_id: Option<Uuid>,
    pub action: CardAction,
    /// The tasks, in the order shown.
    pub targets: &'a [Target],
    /// How long the user has to decide.
    pub ttl: std::time::Duration,
}

const CONFIRMATION_COLUMNS: &str =
    "id, thread_id, source, action, status, created_at, expires_at, expires_at <= now() AS expired";

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

/// A position in the thread list: the last thread of the previous page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCursor {
    /// Its `updated_at`.
    pub updated_at: DateTime<Utc>,
    /// Its id.
    pub id: Uuid,
}

/// The user's threads, most recently active first, after `cursor`.
pub async fn list_threads(
    conn: &mut PgConnection,
    user_id: &str,
    cursor: Option<ThreadCursor>,
    limit: i64,
) -> sqlx::Result<Vec<Thread>> {
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM assistant_threads WHERE user_id = $1 \
         AND ($2::timestamptz IS NULL OR (updated_at, id) < ($2, $3)) \
         ORDER BY updated_at DESC, id DESC LIMIT $4"
    );
    sqlx::query_as(&sql)
        .bind(user_id)
        .bind(cursor.map(|c| c.updated_at))
        .bind(cursor.map(|c| c.id))
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
    kind: ItemKind,
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

/// The thread's items in order: the latest `limit` of those older than `before` (all when
/// `None`).
pub async fn list_items(
    conn: &mut PgConnection,
    user_id: &str,
    thread_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Item>> {
    let sql = format!(
        "SELECT * FROM (SELECT {ITEM_COLUMNS} FROM assistant_items \
         WHERE thread_id = $1 AND user_id = $2 AND ($3::uuid IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4) AS latest ORDER BY id"
    );
    sqlx::query_as(&sql)
        .bind(thread_id)
        .bind(user_id)
        .bind(before)
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
    let item = add_item(
        &mut *conn,
        id,
        user_id,
        thread_id,
        ItemKind::UserMessage,
        &content,
    )
    .await?;
    Ok(Some(item))
}

/// Records a pending confirmation card with its tasks; returns its id and expiry. Two
/// statements: run it in a transaction.
pub async fn create_confirmation(
    conn: &mut PgConnection,
    card: NewConfirmation<'_>,
) -> sqlx::Result<(Uuid, DateTime<Utc>)> {
    let id = Uuid::now_v7();
    let source = if card.thread_id.is_some() {
        CardSource::Assistant
    } else {
        CardSource::Mcp
    };
    let ttl_ms = i64::try_from(card.ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO assistant_confirmations (id, user_id, thread_id, source, action, expires_at) \
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision / 1000)) \
         RETURNING expires_at",
    )
    .bind(id)
    .bind(card.user_id)
    .bind(card.thread_id)
    .bind(source)
    .bind(card.action)
    .bind(ttl_ms)
    .fetch_one(&mut *conn)
    .await?;
    let task_ids: Vec<Uuid> = card.targets.iter().map(|t| t.task_id).collect();
    let versions: Vec<i64> = card.targets.iter().map(|t| t.task_version).collect();
    sqlx::query(
        "INSERT INTO assistant_confirmation_tasks (confirmation_id, task_id, task_version, position) \
         SELECT $1, t.task_id, t.version, (t.position - 1)::int \
         FROM unnest($2::uuid[], $3::bigint[]) WITH ORDINALITY AS t(task_id, version, position)",
    )
    .bind(id)
    .bind(&task_ids)
    .bind(&versions)
    .execute(conn)
    .await?;
    Ok((id, expires_at))
}

/// The tasks named on a card, in the order shown.
pub async fn confirmation_targets(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Vec<Target>> {
    sqlx::query_as(
        "SELECT task_id, task_version FROM assistant_confirmation_tasks \
         WHERE confirmation_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// The tasks named on each of `ids` (cards already filtered by owner), in card order.
pub async fn targets_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, Target)>> {
    let rows: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
        "SELECT confirmation_id, task_id, task_version FROM assistant_confirmation_tasks \
         WHERE confirmation_id = ANY($1) ORDER BY confirmation_id, position",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(card, task_id, task_version)| {
            (
                card,
                Target {
                    task_id,
                    task_version,
                },
            )
        })
        .collect())
}

/// The user's confirmation, locked until the transaction ends so it is decided once.
pub async fn lock_confirmation(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Confirmation>> {
    let sql = format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM assistant_confirmations \
         WHERE id = $1 AND user_id = $2 FOR UPDATE"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// The user's cards still waiting for a decision (not expired), oldest first.
pub async fn pending_confirmations(
    conn: &mut PgConnection,
    user_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<Confirmation>> {
    let sql = format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM assistant_confirmations \
         WHERE user_id = $1 AND status = 'pending' AND expires_at > now() \
         ORDER BY created_at LIMIT $2"
    );
    sqlx::query_as(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Records the user's decision (or the card's expiry).
pub async fn decide_confirmation(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
    status: CardStatus,
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

/// Deletes one of the user's threads with its items and cards; `false` when there is none.
pub async fn delete_thread(conn: &mut PgConnection, user_id: &str, id: Uuid) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM assistant_threads WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Tokens the user's conversations used today (UTC).
pub async fn tokens_today(conn: &mut PgConnection, user_id: &str) -> sqlx::Result<i64> {
    let used: Option<i64> = sqlx::query_scalar(
        "SELECT tokens FROM assistant_usage WHERE user_id = $1 \
         AND day = (now() AT TIME ZONE 'UTC')::date",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(used.unwrap_or(0))
}

/// Adds `tokens` to the user's count for today (UTC); returns the new total.
pub async fn add_tokens(conn: &mut PgConnection, user_id: &str, tokens: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO assistant_usage (user_id, day, tokens) \
         VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2) \
         ON CONFLICT (user_id, day) DO UPDATE SET tokens = assistant_usage.tokens + EXCLUDED.tokens \
         RETURNING tokens",
    )
    .bind(user_id)
    .bind(tokens.max(0))
    .fetch_one(conn)
    .await
}
