//! The JSON schemas of the tools, as sent with every request. Dates are phrases, never
//! timestamps the model would have to compute.

use serde_json::{Value, json};

use super::Tool;

fn id_only() -> Value {
    json!({"type": "object", "properties": {"id": {"type": "string", "description": "task id"}},
           "required": ["id"]})
}

fn ids() -> Value {
    json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"},
           "minItems": 1, "maxItems": super::MAX_BULK, "description": "task ids"}},
           "required": ["ids"]})
}

const WHEN: &str = "a date/time phrase in the user's words, e.g. 'tomorrow 5pm', 'next monday', \
                    'in 3 days', 'dec 24 18:00'; the server reads it in the user's time zone";
const REPEAT: &str = "a recurrence phrase, e.g. 'every weekday', 'every monday', 'every 2 weeks'; \
                      'every!' counts from completion";

fn priority() -> Value {
    json!({"type": "string", "enum": ["high", "medium", "low"]})
}

fn tags() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

impl Tool {
    /// What the tool does, for the model.
    pub fn description(self) -> &'static str {
        match self {
            Tool::ListTasks => "List the user's tasks, soonest due first.",
            Tool::FindTasks => "Search and filter the user's tasks (the GET /api/tasks filter).",
            Tool::GetTask => "Read one task by id.",
            Tool::AddTask => "Create a task.",
            Tool::UpdateTask => {
                "Change fields of a task; omitted fields stay. 'when': null clears the due date, \
                 'repeat': null stops recurring."
            }
            Tool::CompleteTask => "Mark a task done.",
            Tool::ReopenTask => "Mark a done task pending again.",
            Tool::DeleteTask => {
                "Ask the user to confirm deleting a task. Nothing is deleted until the user \
                 confirms in the app."
            }
            Tool::DeleteTasks => {
                "Ask the user to confirm deleting several tasks at once. Nothing is deleted until \
                 the user confirms in the app."
            }
            Tool::CompleteTasks => {
                "Ask the user to confirm marking several tasks done at once. Nothing changes \
                 until the user confirms in the app."
            }
            Tool::GetStats => "Counts of the user's tasks: pending, completed, overdue, due today.",
        }
    }

    /// The JSON schema of its arguments.
    pub fn parameters(self) -> Value {
        match self {
            Tool::ListTasks => json!({
                "type": "object", "properties": {
                    "status": {"type": "string", "enum": ["pending", "completed"], "description": "default pending"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200}}}),
            Tool::FindTasks => json!({
                "type": "object", "properties": {
                    "status": {"type": "string", "enum": ["pending", "completed"]},
                    "priority": priority(),
                    "tags": tags(),
                    "tag_mode": {"type": "string", "enum": ["all", "any"], "description": "tasks with every tag (default) or any of them"},
                    "due": {"type": "string", "enum": ["today", "upcoming", "overdue"], "description": "due today, in the next 7 days from today, or before now (pending and completed alike unless status says)"},
                    "q": {"type": "string", "description": "text to search in title and description"},
                    "due_before": {"type": "string", "description": WHEN},
                    "due_after": {"type": "string", "description": WHEN},
                    "sort": {"type": "string", "description": "due_date, priority, created_at, updated_at or title; '-' prefix for descending"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                    "cursor": {"type": "string"}}}),
            Tool::AddTask => json!({
                "type": "object", "properties": {
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "when": {"type": "string", "description": WHEN},
                    "repeat": {"type": "string", "description": REPEAT},
                    "priority": priority(),
                    "tags": tags()},
                "required": ["title"]}),
            Tool::UpdateTask => json!({
                "type": "object", "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "when": {"type": ["string", "null"], "description": WHEN},
                    "repeat": {"type": ["string", "null"], "description": REPEAT},
                    "priority": priority(),
                    "tags": tags()},
                "required": ["id"]}),
            Tool::GetTask | Tool::CompleteTask | Tool::ReopenTask | Tool::DeleteTask => id_only(),
            Tool::DeleteTasks | Tool::CompleteTasks => ids(),
            Tool::GetStats => json!({"type": "object", "properties": {}}),
        }
    }
}

/// The tool definitions sent with every request, in table order.
pub fn definitions() -> Value {
    Value::Array(
        Tool::ALL
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.name(), "description": tool.description(),
                    "parameters": tool.parameters()}})
            })
            .collect(),
    )
}
