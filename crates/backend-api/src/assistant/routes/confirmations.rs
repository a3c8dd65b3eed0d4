//! Confirmation cards: the ones waiting for the user, and the user's decision on one.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::auth::AuthUser;
use common::error::{ApiError, Refusal};
use common::extract::{ApiJson, ApiPath};
use common::tasks::Task;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::assistant::store::{self, CardAction, CardSource, CardStatus, ItemKind};
use crate::startup::AppState;
use crate::tasks::{Caller, IfMatch, WriteContext, service};

/// At most this many waiting cards are listed.
const MAX_PENDING: i64 = 100;

/// 410 `confirmation_expired`: the confirmation card is past its expiry.
fn confirmation_expired() -> ApiError {
    Refusal::new(
        StatusCode::GONE,
        "confirmation_expired",
        "this confirmation expired; ask again",
    )
    .into()
}

/// 412 `task_changed`: a task of the card was deleted since it was drawn.
fn task_changed(task_id: Uuid) -> ApiError {
    Refusal::new(
        StatusCode::PRECONDITION_FAILED,
        "task_changed",
        "a task on this card was deleted since it was drawn; nothing was done",
    )
    .details(json!({"task_id": task_id}))
    .into()
}

/// A task named on a waiting card, as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardTask {
    /// The task.
    pub task_id: Uuid,
    /// The version the card was drawn at.
    pub version: i64,
    /// Whether the task moved past that version (or is gone): confirming would answer 412.
    pub changed: bool,
    /// The task now; `null` when it was deleted since.
    pub task: Option<Task>,
}

/// A card waiting for the user's decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Card {
    /// The card's id.
    pub id: Uuid,
    /// What confirming does.
    pub action: CardAction,
    /// Who asked.
    pub source: CardSource,
    /// The thread it was asked in (`null` for an MCP agent's).
    pub thread_id: Option<Uuid>,
    /// When it was drawn.
    pub created_at: DateTime<Utc>,
    /// After this it can no longer be confirmed.
    pub expires_at: DateTime<Utc>,
    /// The tasks it acts on, in the order shown.
    pub tasks: Vec<CardTask>,
}

/// The caller's waiting cards.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cards {
    /// Oldest first.
    pub items: Vec<Card>,
}

/// The caller's cards still waiting for a decision — the in-app assistant's and those MCP
/// agents asked for — oldest first, each with the tasks it names as they are now (`changed`
/// when a task moved past the version shown, `task: null` when it is gone).
#[utoipa::path(get, path = "/api/assistant/confirmations", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, body = Cards)))]
pub async fn list_confirmations(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Cards>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let cards = store::pending_confirmations(&mut conn, &user.user_id, MAX_PENDING).await?;
    let card_ids: Vec<Uuid> = cards.iter().map(|c| c.id).collect();
    let targets = store::targets_of(&mut conn, &card_ids).await?;
    let task_ids: Vec<Uuid> = targets.iter().map(|(_, t)| t.task_id).collect();
    let tasks: HashMap<Uuid, Task> = common::tasks::get_tasks(&mut conn, &user.user_id, &task_ids)
        .await?
        .into_iter()
        .map(|task| (task.id, task))
        .collect();
    let items = cards
        .into_iter()
        .map(|card| {
            let named = targets
                .iter()
                .filter(|(id, _)| *id == card.id)
                .map(|(_, target)| {
                    // A task may be named on several cards: each gets its copy.
                    let task = tasks.get(&target.task_id).cloned();
                    CardTask {
                        task_id: target.task_id,
                        version: target.task_version,
                        changed: task
                            .as_ref()
                            .is_none_or(|t| t.version != target.task_version),
                        task,
                    }
                })
                .collect();
            Card {
                id: card.id,
                action: card.action,
                source: card.source,
                thread_id: card.thread_id,
                created_at: card.created_at,
                expires_at: card.expires_at,
                tasks: named,
            }
        })
        .collect();
    Ok(Json(Cards { items }))
}

/// Body of `POST /api/assistant/confirmations/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `true` runs the action, `false` cancels it.
    pub confirm: bool,
}

/// The decision on a card, as answered and as recorded in its thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    /// The card.
    pub id: Uuid,
    /// The thread it was asked in (`null` for an MCP agent's).
    pub thread_id: Option<Uuid>,
    /// What it did (or would have done).
    pub action: CardAction,
    /// The one task, when the card names one.
    pub task_id: Option<Uuid>,
    /// Every task of the card, in the order shown.
    pub task_ids: Vec<Uuid>,
    /// `confirmed` or `cancelled`.
    pub status: CardStatus,
}

/// The `confirmation` item a decision adds to the card's thread: ids only, no task text.
#[derive(Serialize)]
struct DecisionItem<'a> {
    confirmation_id: Uuid,
    action: CardAction,
    task_ids: &'a [Uuid],
    status: CardStatus,
}

/// Runs or cancels the action on a confirmation card. Confirming acts on every task of the
/// card in one transaction, and only if each still is the version shown (412 otherwise —
/// changed or deleted since — and nothing is done); a decided card answers 409, an expired one
/// 410.
#[utoipa::path(post, path = "/api/assistant/confirmations/{id}", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Decision,
    responses((status = 200, body = Decided),
              (status = 404, description = "no such confirmation"), (status = 409, description = "already decided"),
              (status = 410, description = "confirmation_expired"),
              (status = 412, description = "a task changed or was deleted since the card")))]
pub async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(decision): ApiJson<Decision>,
) -> Result<Json<Decided>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let card = store::lock_confirmation(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("confirmation"))?;
    if card.status != CardStatus::Pending {
        return Err(ApiError::Conflict {
            code: "already_decided",
            message: format!("this confirmation was already {}", card.status),
        });
    }
    let targets = store::confirmation_targets(&mut tx, card.id).await?;
    let task_ids: Vec<Uuid> = targets.iter().map(|t| t.task_id).collect();
    let status = if card.expired {
        CardStatus::Expired
    } else if decision.confirm {
        let caller = Caller::assistant(user.user_id.clone(), context);
        for target in &targets {
            let condition = Some(IfMatch::Version(target.task_version));
            let done = match card.action {
                CardAction::CompleteTasks => {
                    service::complete(&mut tx, &caller, target.task_id, condition).await
                }
                CardAction::DeleteTask | CardAction::DeleteTasks => {
                    service::delete(&mut tx, &caller, target.task_id, condition).await
                }
            };
            match done {
                Ok(_) => {}
                // Deleted since the card was drawn: as changed as a task can be. The
                // transaction rolls back whatever this card already did.
                Err(ApiError::NotFound(_)) => {
                    return Err(task_changed(target.task_id));
                }
                Err(other) => return Err(other),
            }
        }
        CardStatus::Confirmed
    } else {
        CardStatus::Cancelled
    };
    store::decide_confirmation(&mut tx, &user.user_id, id, status).await?;
    if let Some(thread_id) = card.thread_id {
        let item = DecisionItem {
            confirmation_id: card.id,
            action: card.action,
            task_ids: &task_ids,
            status,
        };
        store::add_item(
            &mut tx,
            Uuid::now_v7(),
            &user.user_id,
            thread_id,
            ItemKind::Confirmation,
            &json!(item),
        )
        .await?;
    }
    common::outbox::commit(tx).await?;
    if card.expired {
        return Err(confirmation_expired());
    }
    Ok(Json(Decided {
        id: card.id,
        thread_id: card.thread_id,
        action: card.action,
        task_id: match task_ids.as_slice() {
            [single] => Some(*single),
            _ => None,
        },
        task_ids,
        status,
    }))
}
