//! OpenAPI: the spec at `/openapi.json` and interactive Swagger UI at `/docs` (served from the
//! binary: no CDN, works offline).

use axum::Router;
use common::openapi::StandardResponses;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::account;
use crate::assistant::routes as assistant;
use crate::calendar;
use crate::routes::{agent_tokens, tags, tasks, views};
use crate::transfer;

#[derive(OpenApi)]
#[openapi(
    info(title = "taskfleet backend-api", description = "Tasks of the signed-in user. Every error is `{\"error\":{\"code\",\"message\",\"details\"}}`."),
    paths(tasks::create_task, tasks::list_tasks, tasks::get_task, tasks::update_task, tasks::delete_task,
          tasks::complete_task, tasks::reopen_task, tasks::snooze_task, tasks::parse_task,
          tasks::list_trash, tasks::restore_task, tasks::remove_from_trash, tasks::empty_trash, tags::list_tags,
          views::list_views, views::save_view, views::change_view, views::delete_view,
          assistant::status, assistant::threads::create_thread, assistant::threads::list_threads,
          assistant::threads::delete_thread, assistant::threads::list_items,
          assistant::messages::post_message, assistant::confirmations::list_confirmations,
          assistant::confirmations::decide,
          agent_tokens::register_agent_token, agent_tokens::list_agent_tokens,
          agent_tokens::revoke_agent_token, agent_tokens::revoke_all_agent_tokens,
          calendar::feed, calendar::get_feed, calendar::rotate_feed, calendar::turn_off_feed,
          transfer::export_tasks, transfer::import_tasks, account::delete_account),
    components(schemas(common::tasks::Task, crate::tasks::CreateTaskRequest, crate::tasks::UpdateTaskRequest, crate::tasks::TaskPage,
                       tasks::SnoozeRequest, crate::tasks::trash::TrashPage, crate::tasks::trash::TrashedTask, tasks::Emptied, tasks::SnoozeFor, tasks::ParseRequest, tasks::ParsedTask, tasks::ParsedSpan, tasks::ParsedSpanKind, crate::tasks::TaskFilter, tags::TagCount, crate::tasks::TagMode, crate::tasks::DueView,
                       views::ViewList, crate::tasks::views::SavedView, crate::tasks::views::NewView, crate::tasks::views::ViewChange,
                       assistant::threads::NewThread, assistant::messages::NewMessage,
                       assistant::confirmations::Decision, assistant::Status,
                       assistant::confirmations::Cards, assistant::confirmations::Decided,
                       agent_tokens::AgentToken, agent_tokens::NewAgentToken,
                       agent_tokens::AgentTokenList, agent_tokens::Revoked,
                       calendar::CalendarFeed, transfer::ImportResult, transfer::ImportNote)),
    modifiers(&StandardResponses),
)]
pub struct ApiDoc;

/// `/docs` and `/openapi.json`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
