"use client";
import { Fragment, useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { AnimatePresence } from "framer-motion";
import { AlertTriangle, CheckCircle2, Inbox, Plus, RefreshCw, SearchX } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError, type TaskInput } from "@/lib/api";
import { applyPush, emptyState, groupByDay, loadPage, removeTask, upsertTask, type TaskState } from "@/lib/task-store";
import type { TagCount, Task, TaskFilters, TaskPush } from "@/lib/types";
import { filtersFromSearch, searchFromFilters } from "@/lib/url-filters";
import { useRealtimeEvents } from "../realtime-provider";
import { Dialog } from "../dialog";
import { Button, Kbd } from "../ui";
import { FilterBar } from "./filter-bar";
import { QuickAdd } from "./quick-add";
import { TaskDialog } from "./task-dialog";
import { TaskRow } from "./task-row";
import { ViewsNav } from "./views-nav";

type Action =
  | { type: "load"; items: Task[]; append: boolean; filters: TaskFilters }
  | { type: "push"; push: TaskPush; filters: TaskFilters }
  | { type: "upsert"; task: Task; filters: TaskFilters }
  | { type: "remove"; id: string; version: number };

function reducer(state: TaskState, a: Action): TaskState {
  switch (a.type) {
    case "load":
      return loadPage(state, a.items, a.filters, a.append);
    case "push":
      return applyPush(state, a.push, a.filters);
    case "upsert":
      return upsertTask(state, a.task, a.filters);
    case "remove":
      return removeTask(state, a.id, a.version);
  }
}

function isTyping(el: Element | null) {
  return (
    !!el &&
    (el instanceof HTMLInputElement ||
      el instanceof HTMLTextAreaElement ||
      el instanceof HTMLSelectElement ||
      (el as HTMLElement).isContentEditable)
  );
}

export function TasksView() {
  const [state, dispatch] = useReducer(reducer, emptyState);
  const [status, setStatus] = useState<"loading" | "ready" | "error">("loading");
  const [error, setError] = useState<string | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tags, setTags] = useState<TagCount[]>([]);
  const [editing, setEditing] = useState<{ task: Task | null; key: number } | null>(null);
  const [confirm, setConfirm] = useState<Task | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [busyIds, setBusyIds] = useState<Set<string>>(new Set());
  const quickAddRef = useRef<HTMLInputElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const requestId = useRef(0);
  const router = useRouter();
  const searchParams = useSearchParams();
  // `/tasks?task=<id>` opens that task (from a notification, a reminder or a shared link).
  const openId = searchParams.get("task");
  // The filters live in the URL (shareable; the back button walks through them).
  const filterSearch = searchFromFilters(filtersFromSearch(searchParams));
  const filters = useMemo(() => filtersFromSearch(filterSearch), [filterSearch]);
  const hrefOf = (f: TaskFilters) => {
    const search = searchFromFilters(f);
    return search ? `/tasks?${search}` : "/tasks";
  };
  const filtersRef = useRef(filters);
  const setFilters = (next: TaskFilters, { replace = false } = {}) => {
    // Two changes in a row, before the URL catches up, build on each other, not on the URL.
    filtersRef.current = next;
    if (replace) router.replace(hrefOf(next), { scroll: false });
    else router.push(hrefOf(next), { scroll: false });
  };

  useEffect(() => {
    filtersRef.current = filters;
  }, [filters]);

  const load = useCallback(async (f: TaskFilters, silent = false) => {
    const id = ++requestId.current;
    if (!silent) setStatus((s) => (s === "ready" ? s : "loading"));
    try {
      const page = await api.listTasks(f);
      if (id !== requestId.current) return;
      dispatch({ type: "load", items: page.items, append: false, filters: f });
      setCursor(page.next_cursor);
      setStatus("ready");
      setError(null);
    } catch (e) {
      if (id !== requestId.current) return;
      if (!silent) {
        setError(e instanceof Error ? e.message : "Could not load tasks");
        setStatus("error");
      }
    }
  }, []);

  const loadTags = useCallback(async () => {
    try {
      setTags(await api.tags());
    } catch {
      /* tags are a convenience */
    }
  }, []);

  useEffect(() => {
    void load(filters);
  }, [filters, load]);

  useEffect(() => {
    void loadTags();
  }, [loadTags]);

  const tagsTimer = useRef<number | undefined>(undefined);
  useRealtimeEvents(
    (msg) => {
      if (msg.type === "reminder.due" || msg.type === "resync") return;
      dispatch({ type: "push", push: msg, filters: filtersRef.current });
      window.clearTimeout(tagsTimer.current);
      tagsTimer.current = window.setTimeout(() => void loadTags(), 400);
    },
    () => {
      void load(filtersRef.current, true);
      void loadTags();
    },
  );

  useEffect(() => {
    if (!openId) return;
    let cancelled = false;
    api.getTask(openId).then(
      (task) => {
        if (!cancelled) setEditing({ task, key: Date.now() });
      },
      (e: unknown) => {
        if (cancelled) return;
        toast.error(e instanceof ApiError && e.status === 404 ? "This task no longer exists" : "Could not open the task");
        router.replace(hrefOf(filtersRef.current), { scroll: false });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [openId, router]);

  const closeEditor = () => {
    setEditing(null);
    if (openId) router.replace(hrefOf(filters), { scroll: false });
  };

  // Keyboard: N (or Q) focuses quick add, / focuses search.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey || isTyping(document.activeElement) || document.querySelector('[role="dialog"][aria-modal]'))
        return;
      if (e.key === "n" || e.key === "N" || e.key === "q") {
        e.preventDefault();
        quickAddRef.current?.focus();
      } else if (e.key === "/") {
        e.preventDefault();
        searchRef.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const setBusy = (id: string, on: boolean) =>
    setBusyIds((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  const create = async (input: TaskInput) => {
    try {
      const task = await api.createTask(input);
      dispatch({ type: "upsert", task, filters: filtersRef.current });
      if (!state.items.length && filtersRef.current.status === "completed") toast.success("Task added to your open tasks");
      return true;
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not add the task");
      return false;
    }
  };

  const save = async (input: TaskInput, original: Task | null) => {
    if (!original) {
      const task = await api.createTask(input);
      dispatch({ type: "upsert", task, filters: filtersRef.current });
      toast.success("Task created");
    } else {
      try {
        const task = await api.updateTask(original.id, input, original.version);
        dispatch({ type: "upsert", task, filters: filtersRef.current });
        toast.success("Changes saved");
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) {
          const fresh = await api.getTask(original.id).catch(() => null);
          if (fresh) dispatch({ type: "upsert", task: fresh, filters: filtersRef.current });
          setEditing(fresh ? { task: fresh, key: Date.now() } : null);
          toast.warning("This task was changed on another device", {
            description: "The latest version is loaded: review it and save again.",
          });
          return;
        }
        throw e;
      }
    }
    closeEditor();
    void loadTags();
  };

  const toggle = async (task: Task) => {
    setBusy(task.id, true);
    try {
      if (task.status === "completed") {
        const t = await api.reopenTask(task.id);
        dispatch({ type: "upsert", task: t, filters: filtersRef.current });
      } else {
        const t = await api.completeTask(task.id);
        dispatch({ type: "upsert", task: t, filters: filtersRef.current });
        toast.success(`Completed “${t.title}”`, {
          description: t.recurring_rule ? "The next occurrence is on its way." : undefined,
          action: {
            label: "Undo",
            onClick: async () => {
              try {
                const r = await api.reopenTask(t.id);
                dispatch({ type: "upsert", task: r, filters: filtersRef.current });
              } catch (e) {
                toast.error(e instanceof Error ? e.message : "Could not undo");
              }
            },
          },
        });
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        dispatch({ type: "remove", id: task.id, version: task.version + 1 });
        toast.error("This task was deleted elsewhere");
      } else toast.error(e instanceof Error ? e.message : "Something went wrong");
    } finally {
      setBusy(task.id, false);
    }
  };

  const undoDelete = async (task: Task) => {
    try {
      const restored = await api.restoreTask(task.id);
      dispatch({ type: "upsert", task: restored, filters: filtersRef.current });
      toast.success(`Restored “${restored.title}”`);
      void loadTags();
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not restore the task");
    }
  };

  const doDelete = async () => {
    if (!confirm) return;
    setDeleting(true);
    try {
      const deleted = confirm;
      await api.deleteTask(deleted.id);
      dispatch({ type: "remove", id: deleted.id, version: deleted.version + 1 });
      toast.success(`Deleted “${deleted.title}”`, {
        description: "It stays in Trash for 30 days.",
        duration: 8_000,
        action: { label: "Undo", onClick: () => void undoDelete(deleted) },
      });
      setConfirm(null);
      void loadTags();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        dispatch({ type: "remove", id: confirm.id, version: confirm.version + 1 });
        setConfirm(null);
      } else toast.error(e instanceof Error ? e.message : "Could not delete the task");
    } finally {
      setDeleting(false);
    }
  };

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.listTasks(filters, cursor);
      dispatch({ type: "load", items: page.items, append: true, filters });
      setCursor(page.next_cursor);
    } catch (e) {
      toast.error(e instanceof Error ? e.message : "Could not load more");
    } finally {
      setLoadingMore(false);
    }
  };

  const filtered =
    filters.q ||
    filters.priority !== "all" ||
    filters.tags.length > 0 ||
    filters.due !== null ||
    filters.due_after !== null ||
    filters.due_before !== null;
  const row = (t: Task) => (
    <TaskRow
      key={t.id}
      task={t}
      busy={busyIds.has(t.id)}
      onToggle={toggle}
      onEdit={(task) => setEditing({ task, key: Date.now() })}
      onDelete={setConfirm}
    />
  );
  const items = state.items;

  return (
    <div className="lg:grid lg:grid-cols-[11rem_minmax(0,1fr)] lg:items-start lg:gap-8">
      <aside className="mb-5 lg:sticky lg:top-20 lg:mb-0">
        <ViewsNav filters={filters} onSelect={(f) => setFilters(f)} />
      </aside>
      <div className="space-y-5">
        <div className="flex items-end justify-between gap-4">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Tasks</h1>
            <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400" aria-live="polite">
              {status === "ready"
                ? `${items.length}${cursor ? "+" : ""} ${filters.status === "completed" ? "done" : filters.status === "pending" ? "open" : "total"}${filtered ? " matching" : ""}`
                : " "}
            </p>
          </div>
          <Button variant="primary" onClick={() => setEditing({ task: null, key: Date.now() })}>
            <Plus className="size-4" aria-hidden /> New task
          </Button>
        </div>

        <QuickAdd onAdd={create} inputRef={quickAddRef} />
        <FilterBar
          filters={filters}
          // Typing a search replaces the history entry; every other change adds one.
          onChange={(p) => setFilters({ ...filtersRef.current, ...p }, { replace: Object.keys(p).length === 1 && "q" in p })}
          tags={tags}
          searchRef={searchRef}
        />

        <section aria-label="Task list" aria-busy={status === "loading"}>
          {status === "loading" && (
            <ul className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900" aria-hidden>
              {[0, 1, 2, 3, 4].map((i) => (
                <li key={i} className="flex items-center gap-3 border-b border-zinc-100 px-4 py-4 last:border-0 dark:border-zinc-800">
                  <span className="size-5 animate-pulse rounded-full bg-zinc-200 dark:bg-zinc-800" />
                  <span className="h-3.5 animate-pulse rounded bg-zinc-200 dark:bg-zinc-800" style={{ width: `${40 + ((i * 17) % 45)}%` }} />
                </li>
              ))}
            </ul>
          )}
          {status === "error" && (
            <div role="alert" className="rounded-xl border border-red-200 bg-red-50/60 px-6 py-10 text-center dark:border-red-500/20 dark:bg-red-500/5">
              <AlertTriangle className="mx-auto size-7 text-red-500" aria-hidden />
              <p className="mt-3 font-medium">Couldn&apos;t load your tasks</p>
              <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{error}</p>
              <Button className="mt-4" onClick={() => void load(filters)}>
                <RefreshCw className="size-4" aria-hidden /> Try again
              </Button>
            </div>
          )}
          {status === "ready" && items.length === 0 && (
            <div
              data-testid="empty-state"
              className="rounded-xl border border-dashed border-zinc-300 px-6 py-14 text-center dark:border-zinc-700"
            >
              {filtered ? (
                <>
                  <SearchX className="mx-auto size-8 text-zinc-300 dark:text-zinc-600" aria-hidden />
                  <p className="mt-3 font-medium">No tasks match these filters</p>
                  <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Try a different search or clear the filters.</p>
                </>
              ) : filters.status === "completed" ? (
                <>
                  <CheckCircle2 className="mx-auto size-8 text-zinc-300 dark:text-zinc-600" aria-hidden />
                  <p className="mt-3 font-medium">Nothing completed yet</p>
                  <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Tasks you check off land here.</p>
                </>
              ) : (
                <>
                  <Inbox className="mx-auto size-8 text-zinc-300 dark:text-zinc-600" aria-hidden />
                  <p className="mt-3 font-medium">You&apos;re all clear</p>
                  <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">
                    Add a task above, or press <Kbd>N</Kbd> from anywhere on this page.
                  </p>
                </>
              )}
            </div>
          )}
          {status === "ready" && items.length > 0 && (
            <ul
              data-testid="task-list"
              className="overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-sm shadow-zinc-900/[0.03] dark:border-zinc-800 dark:bg-zinc-900"
            >
              <AnimatePresence initial={false}>
                {filters.due === "upcoming"
                  ? groupByDay(items).map((g) => (
                      <Fragment key={g.key}>
                        <li
                          data-testid="day-heading"
                          className="border-b border-zinc-100 bg-zinc-50 px-4 py-1.5 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-950/40 dark:text-zinc-400"
                        >
                          <h2>{g.label}</h2>
                        </li>
                        {g.tasks.map((t) => row(t))}
                      </Fragment>
                    ))
                  : items.map((t) => row(t))}
              </AnimatePresence>
            </ul>
          )}
          {status === "ready" && cursor && (
            <div className="mt-4 text-center">
              <Button onClick={loadMore} loading={loadingMore}>
                Load more
              </Button>
            </div>
          )}
        </section>

        {editing && (
          <TaskDialog
            key={editing.key}
            open
            task={editing.task}
            tagSuggestions={tags.map((t) => t.tag)}
            onClose={closeEditor}
            onSubmit={save}
          />
        )}

        <Dialog
          open={!!confirm}
          onClose={() => setConfirm(null)}
          role="alertdialog"
          title="Delete this task?"
          description={confirm ? `“${confirm.title}” goes to Trash on all your devices: you can restore it there for 30 days.` : undefined}
        >
          <div className="flex justify-end gap-2 px-5 pt-4 pb-5">
            <Button variant="ghost" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
            <Button variant="danger" onClick={doDelete} loading={deleting}>
              Delete
            </Button>
          </div>
        </Dialog>
      </div>
    </div>
  );
}
