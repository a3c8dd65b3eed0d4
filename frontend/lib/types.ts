export type Priority = "low" | "medium" | "high";
export type TaskStatus = "pending" | "completed";
export type RecurringMode = "schedule" | "completion";

export interface Task {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: Priority;
  tags: string[];
  due_date: string | null;
  reminder_at: string | null;
  recurring_rule: string | null;
  recurring_mode: RecurringMode | null;
  recurring_end_date: string | null;
  timezone: string;
  parent_task_id: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  version: number;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TagCount {
  tag: string;
  count: number;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, string> | unknown };
}

export type SortKey = "due_date" | "priority" | "created_at" | "updated_at" | "title";
export type Sort = SortKey | `-${SortKey}`;

/** The due views the server reads in the user's zone (`due=` of `GET /api/tasks`). */
export type DueView = "today" | "upcoming" | "overdue";

export interface TaskFilters {
  status: TaskStatus | "all";
  priority: Priority | "all";
  tags: string[];
  /** How several tags combine: every one (default) or any of them. */
  tag_mode: "all" | "any";
  due: DueView | null;
  q: string;
  due_after: string | null; // RFC 3339
  due_before: string | null; // RFC 3339
  sort: Sort;
}

export const DEFAULT_FILTERS: TaskFilters = {
  status: "pending",
  priority: "all",
  tags: [],
  tag_mode: "all",
  due: null,
  q: "",
  due_after: null,
  due_before: null,
  sort: "-created_at",
};

export type PushType = "task.created" | "task.updated" | "task.completed" | "task.deleted";

export interface TaskPush {
  type: PushType;
  event_id: string;
  task_id: string;
  version: number;
  task: Task;
}

export interface ReminderPush {
  type: "reminder.due";
  event_id: string;
  task_id: string;
  version?: number;
  task: { task_id?: string; title?: string; reminder_at?: string; due_date?: string | null } & Record<string, unknown>;
}

/** Sent to every open page of an account that was just deleted; the connection then closes. */
export interface AccountDeletedPush {
  type: "account.deleted";
}

export type RealtimeMessage = TaskPush | ReminderPush | { type: "resync" };

/** A deleted task in the trash (`GET /api/tasks/trash`). */
export interface TrashedTask {
  task: Task;
  deleted_at: string;
  purge_at: string;
}

/** The user's calendar feed (`/api/calendar-feed`): its secret subscription URL. */
export interface CalendarFeed {
  id: string;
  url: string;
  created_at: string;
  last_used_at: string | null;
}

/** What `POST /api/tasks/import` did: the tasks created and notes about rows, by line. */
export interface ImportResult {
  imported: number;
  ids: string[];
  notes: { line: number; message: string }[];
}

/** A saved view (`/api/views`): a named task-list query string. */
export interface SavedView {
  id: string;
  name: string;
  query: string;
  created_at: string;
}

export interface Notification {
  id: string;
  task_id: string | null;
  kind?: string;
  type?: string;
  title: string;
  body?: string | null;
  message?: string | null;
  read: boolean;
  read_at?: string | null;
  created_at: string;
  [key: string]: unknown;
}

export interface AuditEntry {
  event_id: string;
  event_type: string;
  task_id: string;
  actor: string;
  occurred_at: string;
  recorded_at: string;
  changes: Record<string, { before: unknown; after: unknown }> | null;
  snapshot: Partial<Task> | null;
  [key: string]: unknown;
}
