// Pure state logic for the task list: filter matching, sorting and version-ordered merging of
// API pages and real-time pushes. A push is applied only when its version is newer than what the
// list already knows, so a stale or replayed push never overwrites newer data, and a deleted task
// is remembered (tombstone) so a late update cannot resurrect it.
import type { DueView, Priority, Sort, Task, TaskFilters, TaskPush } from "./types";

export interface TaskState {
  items: Task[];
  /** Highest version seen per task id, including deleted ones. */
  versions: Record<string, number>;
  /** Task ids deleted at a known version. */
  deleted: Record<string, number>;
}

export const emptyState: TaskState = { items: [], versions: {}, deleted: {} };

const PRIORITY_RANK: Record<Priority, number> = { low: 0, medium: 1, high: 2 };

/**
 * Whether a task belongs to a due view, by the browser's clock and zone (the server decides for
 * what it lists; this decides for what a push brings).
 */
export function inDueView(task: Task, view: DueView, now = Date.now()): boolean {
  if (!task.due_date) return false;
  const due = Date.parse(task.due_date);
  if (view === "overdue") return due < now;
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const end = new Date(midnight);
  end.setDate(end.getDate() + (view === "today" ? 1 : 7));
  return due >= midnight.getTime() && due < end.getTime();
}

export function matchesFilters(task: Task, f: TaskFilters, now = Date.now()): boolean {
  if (f.status !== "all" && task.status !== f.status) return false;
  if (f.priority !== "all" && task.priority !== f.priority) return false;
  if (f.tags.length) {
    const has = (t: string) => task.tags.includes(t.toLowerCase());
    if (f.tag_mode === "any" ? !f.tags.some(has) : !f.tags.every(has)) return false;
  }
  if (f.due && !inDueView(task, f.due, now)) return false;
  const q = f.q.trim().toLowerCase();
  if (q && !`${task.title}\n${task.description ?? ""}`.toLowerCase().includes(q)) return false;
  if (f.due_after || f.due_before) {
    if (!task.due_date) return false;
    const due = Date.parse(task.due_date);
    if (f.due_after && due < Date.parse(f.due_after)) return false;
    if (f.due_before && due > Date.parse(f.due_before)) return false;
  }
  return true;
}

/** Tasks grouped by the local day they are due on, in order ("Today", "Tomorrow", "Mon 7 Dec"). */
export function groupByDay(tasks: Task[], now = new Date()): { key: string; label: string; tasks: Task[] }[] {
  const dayKey = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const today = dayKey(now);
  const tomorrowDate = new Date(now);
  tomorrowDate.setDate(tomorrowDate.getDate() + 1);
  const tomorrow = dayKey(tomorrowDate);
  const groups = new Map<string, { key: string; label: string; tasks: Task[] }>();
  const dated = tasks.filter((t) => t.due_date).sort((a, b) => Date.parse(a.due_date!) - Date.parse(b.due_date!));
  for (const t of dated) {
    const due = new Date(t.due_date!);
    const key = dayKey(due);
    const label =
      key === today
        ? "Today"
        : key === tomorrow
          ? "Tomorrow"
          : due.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "short" });
    const group = groups.get(key) ?? { key, label, tasks: [] };
    group.tasks.push(t);
    groups.set(key, group);
  }
  return [...groups.values()];
}

export function compareTasks(sort: Sort): (a: Task, b: Task) => number {
  const desc = sort.startsWith("-");
  const key = (desc ? sort.slice(1) : sort) as Exclude<Sort, `-${string}`>;
  const dir = desc ? -1 : 1;
  return (a, b) => {
    let c = 0;
    switch (key) {
      case "priority":
        c = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
        break;
      case "title":
        c = a.title.localeCompare(b.title, undefined, { sensitivity: "base" });
        break;
      case "due_date": {
        // Tasks without a due date go last in either direction.
        if (!a.due_date || !b.due_date) {
          if (a.due_date === b.due_date) c = 0;
          else return a.due_date ? -1 : 1;
        } else c = Date.parse(a.due_date) - Date.parse(b.due_date);
        break;
      }
      default:
        c = Date.parse(a[key]) - Date.parse(b[key]);
    }
    if (c !== 0) return c * dir;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

/** Upserts a task snapshot if it is newer than what we know; keeps the list filtered and sorted. */
export function upsertTask(state: TaskState, task: Task, f: TaskFilters): TaskState {
  if (task.version <= (state.versions[task.id] ?? 0)) return state;
  if (task.version <= (state.deleted[task.id] ?? 0)) return state;
  const versions = { ...state.versions, [task.id]: task.version };
  const rest = state.items.filter((t) => t.id !== task.id);
  const items = matchesFilters(task, f) ? [...rest, task].sort(compareTasks(f.sort)) : rest;
  return { ...state, items, versions };
}

export function removeTask(state: TaskState, id: string, version: number): TaskState {
  if ((state.deleted[id] ?? 0) >= version) return state;
  if ((state.versions[id] ?? 0) > version) return state;
  return {
    items: state.items.filter((t) => t.id !== id),
    versions: { ...state.versions, [id]: version },
    deleted: { ...state.deleted, [id]: version },
  };
}

/**
 * The task carried by a push, as a Task: the websocket's snapshot names the id `task_id` and
 * carries the version beside it, not inside it.
 */
export function pushedTask(push: TaskPush): Task | null {
  if (!push.task) return null;
  const snap = push.task as Partial<Task> & { task_id?: string };
  const id = snap.id ?? snap.task_id ?? push.task_id;
  const version = push.version ?? snap.version;
  if (!id || typeof version !== "number") return null;
  const { task_id: _taskId, ...rest } = snap;
  return {
    description: null,
    tags: [],
    due_date: null,
    reminder_at: null,
    recurring_rule: null,
    recurring_mode: null,
    recurring_end_date: null,
    timezone: "UTC",
    parent_task_id: null,
    completed_at: null,
    priority: "medium",
    status: "pending",
    ...rest,
    id,
    version,
  } as Task;
}

export function applyPush(state: TaskState, push: TaskPush, f: TaskFilters): TaskState {
  const version = push.version ?? push.task?.version;
  if (push.type === "task.deleted") return typeof version === "number" ? removeTask(state, push.task_id, version) : state;
  const task = pushedTask(push);
  return task ? upsertTask(state, task, f) : state;
}

/**
 * Replaces the list with a fresh API page (a re-sync). Anything known at a newer version than
 * the page (a push or local write that raced the request) wins over the page's copy.
 */
export function loadPage(state: TaskState, page: Task[], f: TaskFilters, append = false): TaskState {
  const versions = { ...state.versions };
  const byId = new Map<string, Task>();
  if (append) for (const t of state.items) byId.set(t.id, t);
  const current = new Map(state.items.map((t) => [t.id, t]));
  for (const t of page) {
    const deletedAt = state.deleted[t.id];
    if (deletedAt !== undefined && deletedAt >= t.version) continue;
    const mine = current.get(t.id);
    // A newer version is known but is not in the list: it no longer matches the filters.
    if (!mine && (versions[t.id] ?? 0) > t.version) continue;
    const winner = mine && mine.version > t.version ? mine : t;
    versions[t.id] = Math.max(versions[t.id] ?? 0, winner.version);
    if (matchesFilters(winner, f)) byId.set(t.id, winner);
  }
  return { ...state, versions, items: [...byId.values()].sort(compareTasks(f.sort)) };
}
