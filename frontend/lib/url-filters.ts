// The task list's filters in the URL (`/tasks?tag=work&tag=home&tag_mode=any&due=today`): the
// same parameter names as `GET /api/tasks`, so a link is shareable, the back button walks
// through the filters, and a saved view's query string is one the API lists as it is.
import { DEFAULT_FILTERS, type DueView, type Priority, type Sort, type TaskFilters, type TaskStatus } from "./types";

const STATUSES: readonly (TaskStatus | "all")[] = ["pending", "completed", "all"];
const PRIORITIES: readonly (Priority | "all")[] = ["low", "medium", "high", "all"];
const DUE_VIEWS: readonly DueView[] = ["today", "upcoming", "overdue"];
const isInstant = (v: string | null): v is string => !!v && !Number.isNaN(Date.parse(v));
const isSort = (v: string | null): v is Sort => !!v && /^-?(due_date|priority|created_at|updated_at|title)$/.test(v);

/** The filters a query string names; anything missing or unknown takes its default. */
export function filtersFromSearch(search: URLSearchParams | string): TaskFilters {
  const sp = typeof search === "string" ? new URLSearchParams(search) : search;
  const pick = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = sp.get(name) as T | null;
    return v !== null && allowed.includes(v) ? v : fallback;
  };
  const tags = [...new Set(sp.getAll("tag").map((t) => t.trim().toLowerCase()).filter(Boolean))];
  const due = sp.get("due") as DueView | null;
  return {
    status: pick("status", STATUSES, DEFAULT_FILTERS.status),
    priority: pick("priority", PRIORITIES, DEFAULT_FILTERS.priority),
    tags,
    tag_mode: sp.get("tag_mode") === "any" ? "any" : "all",
    due: due && DUE_VIEWS.includes(due) ? due : null,
    q: sp.get("q") ?? "",
    due_after: isInstant(sp.get("due_after")) ? sp.get("due_after") : null,
    due_before: isInstant(sp.get("due_before")) ? sp.get("due_before") : null,
    sort: isSort(sp.get("sort")) ? (sp.get("sort") as Sort) : DEFAULT_FILTERS.sort,
  };
}

/**
 * The query string of `f`: only what differs from the defaults (a clean `/tasks` for the
 * default list), or, with `explicit`, the status and sort as well (a saved view, which the API
 * must list the same way without the app's defaults).
 */
export function searchFromFilters(f: TaskFilters, { explicit = false } = {}): string {
  const p = new URLSearchParams();
  if (explicit || f.status !== DEFAULT_FILTERS.status) p.set("status", f.status);
  if (f.priority !== "all") p.set("priority", f.priority);
  for (const t of f.tags) p.append("tag", t);
  if (f.tags.length > 1 && f.tag_mode === "any") p.set("tag_mode", "any");
  if (f.due) p.set("due", f.due);
  if (f.q.trim()) p.set("q", f.q.trim());
  if (f.due_after) p.set("due_after", f.due_after);
  if (f.due_before) p.set("due_before", f.due_before);
  if (explicit || f.sort !== DEFAULT_FILTERS.sort) p.set("sort", f.sort);
  return p.toString();
}

/** Whether two filter sets list the same tasks (the sidebar marks the view in use). */
export function sameFilters(a: TaskFilters, b: TaskFilters): boolean {
  return searchFromFilters(a, { explicit: true }) === searchFromFilters(b, { explicit: true });
}

/** The built-in views of the sidebar. */
export const BUILT_IN_VIEWS: { id: string; label: string; filters: TaskFilters }[] = [
  { id: "inbox", label: "All open", filters: DEFAULT_FILTERS },
  { id: "today", label: "Today", filters: { ...DEFAULT_FILTERS, due: "today", sort: "due_date" } },
  { id: "upcoming", label: "Upcoming", filters: { ...DEFAULT_FILTERS, due: "upcoming", sort: "due_date" } },
  { id: "overdue", label: "Overdue", filters: { ...DEFAULT_FILTERS, due: "overdue", sort: "due_date" } },
];
