// Browser-side client for the app's own route handlers (which forward to the services).
import type { ParsedQuickAdd } from "./quick-add";
import type { SnoozeFor } from "./reminders";
import { browserTimeZone } from "./datetime";
import type {
  ApiErrorBody,
  AuditEntry,
  CalendarFeed,
  ImportResult,
  Notification,
  Page,
  SavedView,
  TagCount,
  Task,
  TaskFilters,
  TrashedTask,
} from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details?: unknown,
  ) {
    super(message);
  }
}

export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      headers: { ...(init.body ? { "Content-Type": "application/json" } : {}), ...init.headers },
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", "Could not reach the server. Check your connection.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as ApiErrorBody | null)?.error;
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? res.statusText, err?.details);
  }
  return body as T;
}

export function filtersToQuery(f: TaskFilters, cursor?: string | null, limit = 100): string {
  const p = new URLSearchParams();
  if (f.status !== "all") p.set("status", f.status);
  if (f.priority !== "all") p.set("priority", f.priority);
  for (const t of f.tags) p.append("tag", t);
  if (f.tags.length > 1 && f.tag_mode === "any") p.set("tag_mode", "any");
  if (f.due) {
    p.set("due", f.due);
    p.set("timezone", browserTimeZone());
  }
  if (f.q.trim()) p.set("q", f.q.trim());
  if (f.due_after) p.set("due_after", f.due_after);
  if (f.due_before) p.set("due_before", f.due_before);
  p.set("sort", f.sort);
  p.set("limit", String(limit));
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

export type TaskInput = Partial<
  Pick<
    Task,
    | "title"
    | "description"
    | "priority"
    | "tags"
    | "due_date"
    | "reminder_at"
    | "recurring_rule"
    | "recurring_mode"
    | "recurring_end_date"
    | "timezone"
  >
>;

export const api = {
  listTasks: (f: TaskFilters, cursor?: string | null) => request<Page<Task>>(`/api/tasks?${filtersToQuery(f, cursor)}`),
  getTask: (id: string) => request<Task>(`/api/tasks/${id}`),
  /** What a quick-add text stands for, read in `timezone`, and where it says it. */
  parseTask: (text: string, timezone: string, signal?: AbortSignal) =>
    request<ParsedQuickAdd>("/api/tasks/parse", { method: "POST", body: JSON.stringify({ text, timezone }), signal }),
  createTask: (input: TaskInput) =>
    request<Task>("/api/tasks", {
      method: "POST",
      body: JSON.stringify(input),
      headers: { "Idempotency-Key": crypto.randomUUID() },
    }),
  updateTask: (id: string, patch: TaskInput, version?: number) =>
    request<Task>(`/api/tasks/${id}`, {
      method: "PATCH",
      body: JSON.stringify(patch),
      headers: version !== undefined ? { "If-Match": `"${version}"` } : {},
    }),
  deleteTask: (id: string) => request<void>(`/api/tasks/${id}`, { method: "DELETE" }),
  trash: (cursor?: string | null) =>
    request<Page<TrashedTask>>(`/api/tasks/trash?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
  restoreTask: (id: string) => request<Task>(`/api/tasks/trash/${id}/restore`, { method: "POST" }),
  deleteForGood: (id: string) => request<void>(`/api/tasks/trash/${id}`, { method: "DELETE" }),
  emptyTrash: () => request<{ deleted: number }>("/api/tasks/trash", { method: "DELETE" }),
  views: () => request<{ items: SavedView[] }>("/api/views"),
  saveView: (name: string, query: string) =>
    request<SavedView>("/api/views", { method: "POST", body: JSON.stringify({ name, query }) }),
  changeView: (id: string, change: { name?: string; query?: string }) =>
    request<SavedView>(`/api/views/${id}`, { method: "PATCH", body: JSON.stringify(change) }),
  deleteView: (id: string) => request<void>(`/api/views/${id}`, { method: "DELETE" }),
  calendarFeed: () => request<{ feed: CalendarFeed | null }>("/api/calendar-feed"),
  /** Turns the feed on, or replaces its secret URL (the old one stops working). */
  rotateCalendarFeed: () => request<{ feed: CalendarFeed }>("/api/calendar-feed", { method: "POST" }),
  turnOffCalendarFeed: () => request<void>("/api/calendar-feed", { method: "DELETE" }),
  /** Creates the tasks of a Todoist CSV export (all or none); dates without a zone in `timezone`. */
  importTodoist: (csv: string, timezone = browserTimeZone()) =>
    request<ImportResult>(`/api/tasks/import?format=todoist&timezone=${encodeURIComponent(timezone)}`, {
      method: "POST",
      body: csv,
      headers: { "Content-Type": "text/csv" },
    }),
  /** The key browsers subscribe to Web Push with, or null when the server has push off. */
  pushPublicKey: async () => {
    try {
      return (await request<{ public_key: string }>("/api/push/public-key")).public_key;
    } catch (e) {
      if (e instanceof ApiError && e.code === "push_disabled") return null;
      throw e;
    }
  },
  pushSubscribe: (subscription: unknown) =>
    request<{ id: string; endpoint: string }>("/api/push/subscriptions", { method: "POST", body: JSON.stringify(subscription) }),
  pushUnsubscribe: (endpoint: string) =>
    request<void>("/api/push/subscriptions", { method: "DELETE", body: JSON.stringify({ endpoint }) }),
  /** Deletes the account and everything of it, given the password (204, the session ends). */
  deleteAccount: (password: string) =>
    request<void>("/api/account", { method: "DELETE", body: JSON.stringify({ password }) }),
  completeTask: (id: string) => request<Task>(`/api/tasks/${id}/complete`, { method: "POST" }),
  reopenTask: (id: string) => request<Task>(`/api/tasks/${id}/reopen`, { method: "POST" }),
  snoozeTask: (id: string, snoozeFor: SnoozeFor) =>
    request<Task>(`/api/tasks/${id}/snooze`, { method: "POST", body: JSON.stringify({ for: snoozeFor }) }),
  tags: () => request<TagCount[]>("/api/tags"),
  notifications: (unread = false) =>
    request<Page<Notification>>(`/api/notifications?limit=30${unread ? "&unread=true" : ""}`),
  unreadCount: () => request<{ count: number }>("/api/notifications/unread-count"),
  markRead: (id: string) =>
    request<Notification>(`/api/notifications/${id}`, { method: "PATCH", body: JSON.stringify({ read: true }) }),
  markAllRead: () => request<unknown>("/api/notifications/read-all", { method: "POST" }),
  deleteNotification: (id: string) => request<void>(`/api/notifications/${id}`, { method: "DELETE" }),
  audit: (params: { task_id?: string; event_type?: string; cursor?: string | null; limit?: number }) => {
    const p = new URLSearchParams();
    if (params.task_id) p.set("task_id", params.task_id);
    if (params.event_type) p.set("event_type", params.event_type);
    if (params.cursor) p.set("cursor", params.cursor);
    p.set("limit", String(params.limit ?? 50));
    return request<Page<AuditEntry>>(`/api/audit?${p}`);
  },
  ticket: () => request<{ ticket: string; expires_in: number }>("/api/realtime/ticket", { method: "POST" }),
};
