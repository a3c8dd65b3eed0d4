"use client";
import { useCallback, useEffect, useState } from "react";
import { AlertCircle, Bookmark, BookmarkPlus, CalendarDays, CalendarRange, Inbox, Pencil, X } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError } from "@/lib/api";
import { cn } from "@/lib/cn";
import { BUILT_IN_VIEWS, filtersFromSearch, sameFilters, searchFromFilters } from "@/lib/url-filters";
import type { SavedView, TaskFilters } from "@/lib/types";
import { Dialog } from "../dialog";
import { Button } from "../ui";

const ICONS = { inbox: Inbox, today: CalendarDays, upcoming: CalendarRange, overdue: AlertCircle } as const;

const itemClass = (current: boolean) =>
  cn(
    "flex w-full min-w-0 items-center gap-2 rounded-lg px-2.5 py-1.5 text-left text-sm transition",
    current
      ? "bg-brand-50 font-medium text-brand-700 dark:bg-brand-500/15 dark:text-brand-300"
      : "text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100",
  );

/**
 * The views of the task list: All open, Today, Upcoming and Overdue (in the browser's zone, by
 * the server), then the user's saved views, and a button that saves the filters in use.
 */
export function ViewsNav({ filters, onSelect }: { filters: TaskFilters; onSelect: (f: TaskFilters) => void }) {
  const [saved, setSaved] = useState<SavedView[]>([]);
  const [naming, setNaming] = useState(false);
  // The view being renamed in the dialog (null: the dialog saves a new view).
  const [editing, setEditing] = useState<SavedView | null>(null);
  const [requery, setRequery] = useState(false);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setSaved((await api.views()).items);
    } catch {
      /* the built-in views still work */
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const builtIn = BUILT_IN_VIEWS.some((v) => sameFilters(v.filters, filters));
  const savedCurrent = saved.some((v) => sameFilters(filtersFromSearch(v.query), filters));

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const query = searchFromFilters(filters, { explicit: true });
      if (editing) {
        const view = await api.changeView(editing.id, { name: name.trim(), ...(requery ? { query } : {}) });
        setSaved((xs) => xs.map((x) => (x.id === view.id ? view : x)));
        toast.success(`Saved the view “${view.name}”`);
      } else {
        const view = await api.saveView(name.trim(), query);
        setSaved((xs) => [...xs, view]);
        toast.success(`Saved the view “${view.name}”`);
      }
      setNaming(false);
      setName("");
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : "Could not save the view");
    } finally {
      setBusy(false);
    }
  };

  const openDialog = (view: SavedView | null) => {
    setProblem(null);
    setEditing(view);
    setRequery(false);
    setName(view?.name ?? "");
    setNaming(true);
  };

  const remove = async (view: SavedView) => {
    setSaved((xs) => xs.filter((x) => x.id !== view.id));
    try {
      await api.deleteView(view.id);
    } catch {
      void load();
      toast.error(`Could not delete the view “${view.name}”`);
    }
  };

  return (
    <nav aria-label="Views" className="space-y-4" data-testid="views-nav">
      <ul className="flex gap-1 overflow-x-auto lg:flex-col lg:overflow-visible">
        {BUILT_IN_VIEWS.map((v) => {
          const Icon = ICONS[v.id as keyof typeof ICONS];
          const current = sameFilters(v.filters, filters);
          return (
            <li key={v.id} className="shrink-0">
              <button type="button" aria-current={current ? "page" : undefined} onClick={() => onSelect(v.filters)} className={itemClass(current)}>
                <Icon className="size-4 shrink-0" aria-hidden /> {v.label}
              </button>
            </li>
          );
        })}
      </ul>
      <div>
        <h2 className="mb-1 flex items-center justify-between px-2.5 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
          Saved views
        </h2>
        <ul className="flex gap-1 overflow-x-auto lg:flex-col lg:overflow-visible" data-testid="saved-views">
          {saved.map((v) => {
            const current = sameFilters(filtersFromSearch(v.query), filters);
            return (
              <li key={v.id} className="group flex shrink-0 items-center">
                <button
                  type="button"
                  aria-current={current ? "page" : undefined}
                  onClick={() => onSelect(filtersFromSearch(v.query))}
                  className={itemClass(current)}
                >
                  <Bookmark className="size-4 shrink-0" aria-hidden /> <span className="truncate">{v.name}</span>
                </button>
                <button
                  type="button"
                  aria-label={`Rename the view “${v.name}”`}
                  onClick={() => openDialog(v)}
                  className="rounded-md p-1 text-zinc-400 opacity-100 hover:text-zinc-700 focus-visible:opacity-100 lg:opacity-0 lg:group-hover:opacity-100 dark:hover:text-zinc-200"
                >
                  <Pencil className="size-3.5" aria-hidden />
                </button>
                <button
                  type="button"
                  aria-label={`Delete the view “${v.name}”`}
                  onClick={() => void remove(v)}
                  className="rounded-md p-1 text-zinc-400 opacity-100 hover:text-red-600 focus-visible:opacity-100 lg:opacity-0 lg:group-hover:opacity-100"
                >
                  <X className="size-3.5" aria-hidden />
                </button>
              </li>
            );
          })}
          <li className="shrink-0">
            <button
              type="button"
              disabled={builtIn || savedCurrent}
              title={builtIn || savedCurrent ? "This view is in the list already" : "Save the filters in use as a view"}
              onClick={() => openDialog(null)}
              className={cn(itemClass(false), "disabled:cursor-default disabled:opacity-50 disabled:hover:bg-transparent")}
            >
              <BookmarkPlus className="size-4 shrink-0" aria-hidden /> Save this view
            </button>
          </li>
        </ul>
      </div>
      <Dialog
        open={naming}
        onClose={() => setNaming(false)}
        title={editing ? "Rename the view" : "Save this view"}
        description={editing ? `“${editing.name}” keeps its place in the list.` : "The filters, search and sort in use, under a name of your choice."}
      >
        <form onSubmit={save} className="space-y-3 px-5 pt-4 pb-5">
          <label htmlFor="view-name" className="text-sm font-medium">
            Name
          </label>
          <input
            id="view-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={60}
            required
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? "view-name-problem" : undefined}
            className="h-9 w-full rounded-lg border border-zinc-200 bg-white px-2.5 text-sm dark:border-zinc-800 dark:bg-zinc-900"
          />
          {editing && (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={requery} onChange={(e) => setRequery(e.target.checked)} />
              Also make it list what is shown now
            </label>
          )}
          {problem && (
            <p id="view-name-problem" role="alert" className="text-xs text-rose-600 dark:text-rose-400">
              {problem}
            </p>
          )}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setNaming(false)}>
              Cancel
            </Button>
            <Button variant="primary" type="submit" loading={busy} disabled={!name.trim()}>
              Save view
            </Button>
          </div>
        </form>
      </Dialog>
    </nav>
  );
}
