"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { ArchiveRestore, Trash2 } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError } from "@/lib/api";
import { relativeTime } from "@/lib/datetime";
import type { TrashedTask } from "@/lib/types";
import { Dialog } from "../dialog";
import { useRealtimeEvents } from "../realtime-provider";
import { Button } from "../ui";

/** The deleted tasks that can still be restored (30 days), most recently deleted first. */
export function TrashView() {
  const [entries, setEntries] = useState<TrashedTask[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirmEmpty, setConfirmEmpty] = useState(false);
  const [emptying, setEmptying] = useState(false);
  const [more, setMore] = useState(false);

  const load = useCallback(async () => {
    try {
      const page = await api.trash();
      setEntries(page.items);
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : "Could not load the trash");
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // A task deleted or restored on another device changes the trash.
  const timer = useRef<number | undefined>(undefined);
  useRealtimeEvents(
    (msg) => {
      if (msg.type === "reminder.due" || msg.type === "resync") return;
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void load(), 300);
    },
    () => void load(),
  );

  const drop = (id: string) => setEntries((xs) => xs?.filter((x) => x.task.id !== id) ?? null);

  const restore = async (entry: TrashedTask) => {
    setBusy(entry.task.id);
    try {
      await api.restoreTask(entry.task.id);
      drop(entry.task.id);
      toast.success(`Restored “${entry.task.title}”`, { description: "It is back in your tasks." });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) drop(entry.task.id);
      toast.error(e instanceof ApiError ? e.message : "Could not restore the task");
    } finally {
      setBusy(null);
    }
  };

  const deleteForGood = async (entry: TrashedTask) => {
    setBusy(entry.task.id);
    try {
      await api.deleteForGood(entry.task.id);
      drop(entry.task.id);
      toast.success(`Deleted “${entry.task.title}” for good`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) drop(entry.task.id);
      else toast.error(e instanceof ApiError ? e.message : "Could not delete the task");
    } finally {
      setBusy(null);
    }
  };

  const empty = async () => {
    setEmptying(true);
    try {
      const { deleted } = await api.emptyTrash();
      setEntries([]);
      setCursor(null);
      setConfirmEmpty(false);
      toast.success(deleted === 1 ? "Deleted 1 task for good" : `Deleted ${deleted} tasks for good`);
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not empty the trash");
    } finally {
      setEmptying(false);
    }
  };

  const loadMore = async () => {
    if (!cursor) return;
    setMore(true);
    try {
      const page = await api.trash(cursor);
      setEntries((xs) => [...(xs ?? []), ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      toast.error(e instanceof Error ? e.message : "Could not load more");
    } finally {
      setMore(false);
    }
  };

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Trash</h1>
          <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">
            Deleted tasks stay here for 30 days, then they are gone for good.
          </p>
        </div>
        <Button variant="ghost" onClick={() => setConfirmEmpty(true)} disabled={!entries?.length}>
          <Trash2 className="size-4" aria-hidden /> Empty trash
        </Button>
      </div>
      {error && (
        <div role="alert" className="rounded-xl border border-red-200 bg-red-50/60 px-6 py-8 text-center dark:border-red-500/20 dark:bg-red-500/5">
          <p className="font-medium">Couldn&apos;t load the trash</p>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{error}</p>
          <Button className="mt-4" onClick={() => void load()}>
            Try again
          </Button>
        </div>
      )}
      {!error && entries === null && (
        <div className="space-y-3" aria-busy>
          {[0, 1, 2].map((i) => (
            <div key={i} className="h-14 animate-pulse rounded-xl bg-zinc-200/60 dark:bg-zinc-800/60" />
          ))}
        </div>
      )}
      {!error && entries?.length === 0 && (
        <div className="rounded-xl border border-dashed border-zinc-300 px-6 py-14 text-center dark:border-zinc-700">
          <Trash2 className="mx-auto size-6 text-zinc-300 dark:text-zinc-600" aria-hidden />
          <p className="mt-2 font-medium">The trash is empty</p>
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Tasks you delete can be restored from here.</p>
        </div>
      )}
      {!!entries?.length && (
        <ul className="divide-y divide-zinc-100 rounded-xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900" data-testid="trash-list">
          {entries.map((entry) => (
            <li key={entry.task.id} data-testid="trash-entry" className="flex flex-wrap items-center gap-3 px-4 py-3">
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium" data-testid="trash-title">
                  {entry.task.title}
                </p>
                <p className="text-xs text-zinc-500 dark:text-zinc-400">
                  Deleted {relativeTime(entry.deleted_at)} · restorable until{" "}
                  {new Date(entry.purge_at).toLocaleDateString(undefined, { day: "numeric", month: "short" })}
                </p>
              </div>
              <div className="flex shrink-0 items-center gap-1.5">
                <Button
                  size="sm"
                  onClick={() => void restore(entry)}
                  loading={busy === entry.task.id}
                  disabled={busy !== null}
                  aria-label={`Restore “${entry.task.title}”`}
                >
                  <ArchiveRestore className="size-4" aria-hidden /> Restore
                </Button>
                <Button
                  size="sm"
                  variant="ghost"
                  onClick={() => void deleteForGood(entry)}
                  disabled={busy !== null}
                  aria-label={`Delete “${entry.task.title}” for good`}
                >
                  Delete for good
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <div className="text-center">
          <Button onClick={() => void loadMore()} loading={more}>
            Load more
          </Button>
        </div>
      )}
      <Dialog
        open={confirmEmpty}
        onClose={() => setConfirmEmpty(false)}
        role="alertdialog"
        title="Empty the trash?"
        description="Every task in the trash is deleted for good. Their history stays in Activity."
      >
        <div className="flex justify-end gap-2 px-5 pt-4 pb-5">
          <Button variant="ghost" onClick={() => setConfirmEmpty(false)}>
            Cancel
          </Button>
          <Button variant="danger" onClick={() => void empty()} loading={emptying}>
            Empty trash
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
