//! The one list of the assistant's tools: each tool's name, whether it only reads, the card it
//! draws instead of acting and the function that runs it; its description and argument schema
//! are in `definitions.rs`. The definitions sent to the model, the dispatch in [`super::run`]
//! and `/mcp`'s tool list all come from it, so no list of names is kept anywhere else. Every
//! property is an exhaustive match: a new tool does not compile until each is given.

use serde_json::Value;

use super::{ToolContext, read, write};
use crate::assistant::store::CardAction;

/// A tool the assistant (and an MCP agent) may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    ListTasks,
    FindTasks,
    GetTask,
    AddTask,
    UpdateTask,
    CompleteTask,
    ReopenTask,
    DeleteTask,
    DeleteTasks,
    CompleteTasks,
    GetStats,
}

impl Tool {
    /// Every tool, in the order the model sees them.
    pub const ALL: [Tool; 11] = [
        Tool::ListTasks,
        Tool::FindTasks,
        Tool::GetTask,
        Tool::AddTask,
        Tool::UpdateTask,
        Tool::CompleteTask,
        Tool::ReopenTask,
        Tool::DeleteTask,
        Tool::DeleteTasks,
        Tool::CompleteTasks,
        Tool::GetStats,
    ];

    /// The name the model and MCP agents call it by.
    pub fn name(self) -> &'static str {
        match self {
            Tool::ListTasks => "list_tasks",
            Tool::FindTasks => "find_tasks",
            Tool::GetTask => "get_task",
            Tool::AddTask => "add_task",
            Tool::UpdateTask => "update_task",
            Tool::CompleteTask => "complete_task",
            Tool::ReopenTask => "reopen_task",
            Tool::DeleteTask => "delete_task",
            Tool::DeleteTasks => "delete_tasks",
            Tool::CompleteTasks => "complete_tasks",
            Tool::GetStats => "get_stats",
        }
    }

    /// The tool called `name`, if there is one.
    pub fn named(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// Whether it changes nothing.
    pub fn read_only(self) -> bool {
        match self {
            Tool::ListTasks | Tool::FindTasks | Tool::GetTask | Tool::GetStats => true,
            Tool::AddTask
            | Tool::UpdateTask
            | Tool::CompleteTask
            | Tool::ReopenTask
            | Tool::DeleteTask
            | Tool::DeleteTasks
            | Tool::CompleteTasks => false,
        }
    }

    /// The confirmation card it draws instead of acting; `None` for a tool that acts itself.
    pub fn card(self) -> Option<CardAction> {
        match self {
            Tool::DeleteTask => Some(CardAction::DeleteTask),
            Tool::DeleteTasks => Some(CardAction::DeleteTasks),
            Tool::CompleteTasks => Some(CardAction::CompleteTasks),
            Tool::ListTasks
            | Tool::FindTasks
            | Tool::GetTask
            | Tool::AddTask
            | Tool::UpdateTask
            | Tool::CompleteTask
            | Tool::ReopenTask
            | Tool::GetStats => None,
        }
    }
}

impl Tool {
    /// Runs the tool with the model's arguments (a JSON object); `Err` is the failure the
    /// model reads.
    pub(super) async fn call(self, context: &ToolContext<'_>, raw: Value) -> Result<Value, Value> {
        match self {
            Tool::ListTasks => read::list_tasks(context, &raw).await,
            Tool::FindTasks => read::find_tasks(context, raw).await,
            Tool::GetTask => read::get_task(context, &raw).await,
            Tool::AddTask => write::add_task(context, &raw).await,
            Tool::UpdateTask => write::update_task(context, &raw).await,
            Tool::CompleteTask => {
                write::transition(context, &raw, write::Transition::Complete).await
            }
            Tool::ReopenTask => write::transition(context, &raw, write::Transition::Reopen).await,
            Tool::DeleteTask => write::delete_task(context, &raw).await,
            Tool::DeleteTasks => write::bulk(context, &raw, CardAction::DeleteTasks).await,
            Tool::CompleteTasks => write::bulk(context, &raw, CardAction::CompleteTasks).await,
            Tool::GetStats => read::get_stats(context).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_name_every_tool_once_in_table_order() {
        let definitions = super::super::definitions();
        let names: Vec<&str> = definitions
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["function"]["name"].as_str())
            .collect();
        let table: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names, table);
        for tool in Tool::ALL {
            assert_eq!(Tool::named(tool.name()), Some(tool));
            assert!(!(tool.read_only() && tool.card().is_some()));
        }
        assert_eq!(Tool::named("drop_database"), None);
    }
}
