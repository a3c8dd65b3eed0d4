//! The JSON schemas of the tools, as sent with every request. Dates are phrases, never
//! timestamps the model would have to compute.

use serde_json::{Value, json};

use super::Tool;

fn tool(tool: Tool, description: &str, parameters: Value) -> Value {
    json!({"type": "function", "function": {
        "name": tool.name(), "description": description, "parameters": parameters}})
}

fn id_only() -> Value {
    json!({"type": "object", "properties": {"id": {"type": "string", "description": "task id"}},
           "required": ["id"]})
}

fn ids() -> Value {
    json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"},
           "minItems": 1, "maxItems": super::MAX_BULK, "description": "task ids"}},
           "required": ["ids"]})
}

/// The tool definitions sent with every request.
pub fn definitions() -> Value {
    let when = "a date/time phrase in the user's words, e.g. 'tomorrow 5pm', 'next monday', \
                'in 3 days', 'dec 24 18:00'; the server reads it in the user's time zone";
    let repeat = "a recurrence phrase, e.g. 'every weekday', 'every monday', 'every 2 weeks'; \
                  'every!' counts from completion";
    let priority = json!({"type": "string", "enum": ["high", "medium", "low"]});
    let tags = json!({"type": "array", "items": {"type": "string"}});
    json!([
        tool(
            Tool::ListTasks,
            "List the user's tasks, soonest due first.",
            json!({
            "type": "object", "properties": {
                "status": {"type": "string", "enum": ["pending", "completed"], "description": "default pending"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200}}})
        ),
        tool(
            Tool::FindTasks,
            "Search and filter the user's tasks (the GET /api/tasks filter).",
            json!({
            "type": "object", "properties": {
                "status": {"type": "string", "enum": ["pending", "completed"]},
                "priority": priority,
                "tags": tags,
                "q": {"type": "string", "description": "text to search in title and description"},
                "due_before": {"type": "string", "description": when},
                "due_after": {"type": "string", "description": when},
                "sort": {"type": "string", "description": "due_date, priority, created_at, updated_at or title; '-' prefix for descending"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                "cursor": {"type": "string"}}})
        ),
        tool(Tool::GetTask, "Read one task by id.", id_only()),
        tool(
            Tool::AddTask,
            "Create a task.",
            json!({
            "type": "object", "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "when": {"type": "string", "description": when},
                "repeat": {"type": "string", "description": repeat},
                "priority": priority,
                "tags": tags},
            "required": ["title"]})
        ),
        tool(
            Tool::UpdateTask,
            "Change fields of a task; omitted fields stay. 'when': null clears the due date, 'repeat': null stops recurring.",
            json!({
            "type": "object", "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "when": {"type": ["string", "null"], "description": when},
                "repeat": {"type": ["string", "null"], "description": repeat},
                "priority": priority,
                "tags": tags},
            "required": ["id"]})
        ),
        tool(Tool::CompleteTask, "Mark a task done.", id_only()),
        tool(
            Tool::ReopenTask,
            "Mark a done task pending again.",
            id_only()
        ),
        tool(
            Tool::DeleteTask,
            "Ask the user to confirm deleting a task. Nothing is deleted until the user confirms in the app.",
            id_only()
        ),
        tool(
            Tool::DeleteTasks,
            "Ask the user to confirm deleting several tasks at once. Nothing is deleted until the user confirms in the app.",
            ids()
        ),
        tool(
            Tool::CompleteTasks,
            "Ask the user to confirm marking several tasks done at once. Nothing changes until the user confirms in the app.",
            ids()
        ),
        tool(
            Tool::GetStats,
            "Counts of the user's tasks: pending, completed, overdue, due today.",
            json!({"type": "object", "properties": {}})
        ),
    ])
}
