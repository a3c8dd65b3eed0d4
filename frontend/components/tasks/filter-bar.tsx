"use client";
import { useEffect, useRef, useState } from "react";
import { ArrowDownUp, Search, X } from "lucide-react";
import { cn } from "@/lib/cn";
import type { Sort, TagCount, TaskFilters } from "@/lib/types";
import { Kbd } from "../ui";

export type DueRange = "any" | "overdue" | "today" | "upcoming" | "custom";

const selectClass =
  "h-9 w-full min-w-0 rounded-lg sm:w-auto border border-zinc-200 bg-white pr-8 pl-2.5 text-sm text-zinc-800 shadow-xs focus:border-brand-500 focus:ring-3 focus:ring-brand-500/15 focus:outline-none dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-200";

export const SORTS: { value: Sort; label: string }[] = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "due_date", label: "Due date" },
  { value: "-priority", label: "Priority" },
  { value: "title", label: "Title A–Z" },
  { value: "-updated_at", label: "Recently updated" },
];

/** The due select's value for `f`. */
export function dueRangeOf(f: TaskFilters): DueRange {
  if (f.due) return f.due;
  return f.due_after || f.due_before ? "custom" : "any";
}

/**
 * The filters a due choice stands for: the views (today, upcoming, overdue) are read by the
 * server in the browser's zone; a custom range is local calendar days from `from` to `to`.
 */
export function dueRangeToFilters(range: DueRange, from: string, to: string): Pick<TaskFilters, "due" | "due_after" | "due_before"> {
  switch (range) {
    case "today":
    case "upcoming":
    case "overdue":
      return { due: range, due_after: null, due_before: null };
    case "custom":
      return {
        due: null,
        due_after: from ? new Date(`${from}T00:00:00`).toISOString() : null,
        due_before: to ? new Date(`${to}T23:59:59.999`).toISOString() : null,
      };
    default:
      return { due: null, due_after: null, due_before: null };
  }
}

/** `YYYY-MM-DD` (local) of an instant, for the custom range's date inputs. */
function localDay(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function FilterBar({
  filters,
  onChange,
  tags,
  searchRef,
}: {
  filters: TaskFilters;
  onChange: (patch: Partial<TaskFilters>) => void;
  tags: TagCount[];
  searchRef: React.RefObject<HTMLInputElement | null>;
}) {
  const [q, setQ] = useState(filters.q);
  const [customRange, setCustomRange] = useState(false);
  const range: DueRange = customRange ? "custom" : dueRangeOf(filters);
  const [from, setFrom] = useState(localDay(filters.due_after));
  const [to, setTo] = useState(localDay(filters.due_before));
  // The URL's range moved by itself (back button, a view, a shared link): the range inputs follow
  // it. A move this bar made (`applied`) leaves them as the user is typing them.
  const rangeKey = `${filters.due ?? ""}|${filters.due_after ?? ""}|${filters.due_before ?? ""}`;
  const [shownRange, setShownRange] = useState(rangeKey);
  const [applied, setApplied] = useState<string | null>(null);
  if (rangeKey !== shownRange) {
    setShownRange(rangeKey);
    if (rangeKey !== applied) {
      setCustomRange(false);
      setFrom(localDay(filters.due_after));
      setTo(localDay(filters.due_before));
    }
  }
  // The URL moved (back button, a view): the search box follows it.
  const [shownQ, setShownQ] = useState(filters.q);
  if (filters.q !== shownQ) {
    setShownQ(filters.q);
    if (filters.q !== q) setQ(filters.q);
  }
  const onChangeRef = useRef(onChange);
  useEffect(() => {
    onChangeRef.current = onChange;
  });

  useEffect(() => {
    if (q === shownQ) return;
    const t = window.setTimeout(() => onChangeRef.current({ q }), 250);
    return () => window.clearTimeout(t);
  }, [q, shownQ]);

  const applyRange = (r: DueRange, f = from, t = to) => {
    setCustomRange(r === "custom");
    const next = dueRangeToFilters(r, f, t);
    setApplied(`${next.due ?? ""}|${next.due_after ?? ""}|${next.due_before ?? ""}`);
    onChange(next);
  };
  const unusedTags = tags.filter((t) => !filters.tags.includes(t.tag));

  const statusOptions = [
    { value: "pending", label: "Open" },
    { value: "completed", label: "Done" },
    { value: "all", label: "All" },
  ] as const;

  const activeCount =
    (filters.priority !== "all" ? 1 : 0) + filters.tags.length + (range !== "any" ? 1 : 0) + (filters.q ? 1 : 0);
  const removeTag = (tag: string) => onChange({ tags: filters.tags.filter((t) => t !== tag) });

  return (
    <div className="space-y-3" role="search" aria-label="Filter tasks">
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
        <div className="relative flex-1">
          <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-zinc-400" aria-hidden />
          <label htmlFor="task-search" className="sr-only">
            Search tasks
          </label>
          <input
            id="task-search"
            ref={searchRef}
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                setQ("");
                (e.target as HTMLInputElement).blur();
              }
            }}
            placeholder="Search titles and descriptions"
            className="h-9 w-full rounded-lg border border-zinc-200 bg-white pr-10 pl-9 text-sm shadow-xs placeholder:text-zinc-400 focus:border-brand-500 focus:ring-3 focus:ring-brand-500/15 focus:outline-none dark:border-zinc-800 dark:bg-zinc-900"
          />
          <span className="pointer-events-none absolute top-1/2 right-2.5 hidden -translate-y-1/2 sm:block">
            <Kbd>/</Kbd>
          </span>
        </div>
        <div
          role="radiogroup"
          aria-label="Status"
          className="inline-flex h-9 shrink-0 rounded-lg border border-zinc-200 bg-zinc-100/70 p-0.5 dark:border-zinc-800 dark:bg-zinc-900"
        >
          {statusOptions.map((o) => (
            <button
              key={o.value}
              type="button"
              role="radio"
              aria-checked={filters.status === o.value}
              onClick={() => onChange({ status: o.value })}
              className={cn(
                "flex-1 rounded-md px-3 text-sm font-medium transition sm:flex-none",
                filters.status === o.value
                  ? "bg-white text-zinc-900 shadow-sm dark:bg-zinc-700 dark:text-white"
                  : "text-zinc-500 hover:text-zinc-800 dark:text-zinc-400 dark:hover:text-zinc-200",
              )}
            >
              {o.label}
            </button>
          ))}
        </div>
      </div>
      <div className="grid grid-cols-2 items-center gap-2 sm:flex sm:flex-wrap">
        <label htmlFor="filter-priority" className="sr-only">
          Priority
        </label>
        <select
          id="filter-priority"
          value={filters.priority}
          onChange={(e) => onChange({ priority: e.target.value as TaskFilters["priority"] })}
          className={selectClass}
        >
          <option value="all">Any priority</option>
          <option value="high">High priority</option>
          <option value="medium">Medium priority</option>
          <option value="low">Low priority</option>
        </select>
        <label htmlFor="filter-tag" className="sr-only">
          {filters.tags.length ? "Add a tag" : "Tag"}
        </label>
        <select
          id="filter-tag"
          value=""
          onChange={(e) => e.target.value && onChange({ tags: [...filters.tags, e.target.value] })}
          className={selectClass}
        >
          <option value="">{filters.tags.length ? "Add a tag…" : "Any tag"}</option>
          {unusedTags.map((t) => (
            <option key={t.tag} value={t.tag}>
              #{t.tag} ({t.count})
            </option>
          ))}
        </select>
        <label htmlFor="filter-due" className="sr-only">
          Due
        </label>
        <select id="filter-due" value={range} onChange={(e) => applyRange(e.target.value as DueRange)} className={selectClass}>
          <option value="any">Any due date</option>
          <option value="today">Due today</option>
          <option value="upcoming">Due in the next 7 days</option>
          <option value="overdue">Overdue</option>
          <option value="custom">Custom range…</option>
        </select>
        {range === "custom" && (
          <div className="col-span-2 flex items-center gap-1.5">
            <label htmlFor="due-from" className="sr-only">
              Due from
            </label>
            <input
              id="due-from"
              type="date"
              value={from}
              onChange={(e) => {
                setFrom(e.target.value);
                applyRange("custom", e.target.value, to);
              }}
              className={cn(selectClass, "pr-2")}
            />
            <span className="text-zinc-400">–</span>
            <label htmlFor="due-to" className="sr-only">
              Due until
            </label>
            <input
              id="due-to"
              type="date"
              value={to}
              onChange={(e) => {
                setTo(e.target.value);
                applyRange("custom", from, e.target.value);
              }}
              className={cn(selectClass, "pr-2")}
            />
          </div>
        )}
        <div className="flex min-w-0 items-center gap-2 sm:ml-auto">
          {activeCount > 0 && (
            <button
              type="button"
              onClick={() => {
                setQ("");
                setCustomRange(false);
                setFrom("");
                setTo("");
                onChange({ q: "", priority: "all", tags: [], tag_mode: "all", due: null, due_after: null, due_before: null });
              }}
              className="inline-flex h-9 items-center gap-1 rounded-lg px-2 text-sm text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100"
            >
              <X className="size-3.5" /> Clear
            </button>
          )}
          <ArrowDownUp className="size-4 shrink-0 text-zinc-400" aria-hidden />
          <label htmlFor="sort" className="sr-only">
            Sort by
          </label>
          <select
            id="sort"
            value={filters.sort}
            onChange={(e) => onChange({ sort: e.target.value as Sort })}
            className={selectClass}
          >
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {filters.tags.length > 0 && (
        <div className="flex flex-wrap items-center gap-1.5" data-testid="tag-filter">
          {filters.tags.map((t) => (
            <span
              key={t}
              className="inline-flex items-center gap-1 rounded-full bg-zinc-100 py-0.5 pr-0.5 pl-2 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300"
            >
              #{t}
              <button
                type="button"
                aria-label={`Stop filtering by #${t}`}
                onClick={() => removeTag(t)}
                className="rounded-full p-0.5 hover:bg-zinc-200 dark:hover:bg-zinc-700"
              >
                <X className="size-3" aria-hidden />
              </button>
            </span>
          ))}
          {filters.tags.length > 1 && (
            <div role="radiogroup" aria-label="Tasks with" className="ml-1 inline-flex rounded-md border border-zinc-200 p-0.5 text-xs dark:border-zinc-800">
              {(["all", "any"] as const).map((mode) => (
                <button
                  key={mode}
                  type="button"
                  role="radio"
                  aria-checked={filters.tag_mode === mode}
                  onClick={() => onChange({ tag_mode: mode })}
                  className={cn(
                    "rounded px-2 py-0.5 font-medium",
                    filters.tag_mode === mode ? "bg-brand-50 text-brand-700 dark:bg-brand-500/15 dark:text-brand-300" : "text-zinc-500",
                  )}
                >
                  {mode === "all" ? "all of these tags" : "any of these tags"}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
