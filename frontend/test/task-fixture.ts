// A complete task for the list-logic tests, with whatever a test sets on top.
import type { Task } from "@/lib/types";

export function task(id = "t", over: Partial<Task> = {}): Task {
  return {
    id,
    title: `Task ${id}`,
    description: "",
    status: "pending",
    priority: "medium",
    tags: [],
    due_date: null,
    reminder_at: null,
    recurring_rule: null,
    recurring_mode: "schedule",
    recurring_end_date: null,
    timezone: "UTC",
    parent_task_id: null,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    completed_at: null,
    version: 1,
    ...over,
  };
}
