//! The notifications API (docs/contract.md §4): the caller's notifications only; another user's id
//! answers 404 exactly like a missing one, because every query filters on the caller's user id.

mod item;
mod list;

use axum::Router;
use axum::routing::{get, patch, post};
use chrono::{DateTime, Utc};
use common::openapi::StandardResponses;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::push::subscriptions as push;
use crate::startup::AppState;

pub use list::NotificationPage;

/// The columns of [`Notification`], in its field order.
const COLUMNS: &str =
    "id, task_id, kind, title, body, reminder_at, created_at, read_at IS NOT NULL AS read, read_at";

/// One notification as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    /// The notification's id.
    pub id: Uuid,
    /// The task it is about (kept after the task is deleted).
    pub task_id: Option<Uuid>,
    /// What kind of notification: `reminder`.
    pub kind: String,
    /// The task's title when the reminder fired.
    pub title: String,
    /// A short line for the bell ("Due …" or "Reminder").
    pub body: String,
    /// The reminder time that fired.
    pub reminder_at: Option<DateTime<Utc>>,
    /// When the notification was created (when the reminder fired).
    pub created_at: DateTime<Utc>,
    /// Whether the user has read it.
    pub read: bool,
    /// When it was marked read.
    pub read_at: Option<DateTime<Utc>>,
}

/// The notifications API's OpenAPI document, served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "taskfleet notification", description = "The caller's notifications. Every error is `{\"error\":{\"code\",\"message\",\"details\"}}`."),
    paths(list::list_notifications, item::unread_count, item::mark_all_read, item::mark_read,
          item::delete_notification, push::public_key, push::subscribe, push::unsubscribe),
    components(schemas(Notification, NotificationPage, item::MarkRead, item::UnreadCount,
                       item::MarkedRead, push::NewSubscription, push::SubscriptionKeys,
                       push::Unsubscribe, push::Subscribed, push::PublicKey)),
    modifiers(&StandardResponses),
)]
pub struct ApiDoc;

/// The notifications routes (user-facing, JWT-authenticated).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/notifications", get(list::list_notifications))
        .route("/api/notifications/unread-count", get(item::unread_count))
        .route("/api/notifications/read-all", post(item::mark_all_read))
        .route(
            "/api/notifications/{id}",
            patch(item::mark_read).delete(item::delete_notification),
        )
        .route("/api/push/public-key", get(push::public_key))
        .route(
            "/api/push/subscriptions",
            post(push::subscribe).delete(push::unsubscribe),
        )
}
