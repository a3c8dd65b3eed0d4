"use client";
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { motion } from "framer-motion";
import { AlertTriangle, ArchiveRestore, ArrowRight, CheckCircle2, CirclePlus, PencilLine, RotateCcw, ShieldCheck, Trash2, X } from "lucide-react";
import { api } from "@/lib/api";
import { cn } from "@/lib/cn";
import { relativeTime } from "@/lib/datetime";
import { describeRule } from "@/lib/recurrence";
import type { AuditEntry } from "@/lib/types";
import { useRealtimeEvents } from "../realtime-provider";
import { Button } from "../ui";

const EVENT_META: Record<string, { verb: string; icon: typeof CirclePlus; color: string }> = {
  "task.created": { verb: "created", icon: CirclePlus, color: "text-emerald-600 bg-emerald-50 dark:bg-emerald-500/10 dark:text-emerald-400" },
  "task.updated": { verb: "updated", icon: PencilLine, color: "text-brand-600 bg-brand-50 dark:bg-brand-500/10 dark:text-brand-300" },
  "task.completed": { verb: "completed", icon: CheckCircle2, color: "text-sky-600 bg-sky-50 dark:bg-sky-500/10 dark:text-sky-400" },
  "task.reopened": { verb: "reopened", icon: RotateCcw, color: "text-amber-600 bg-amber-50 dark:bg-amber-500/10 dark:text-amber-400" },
  "task.deleted": { verb: "deleted", icon: Trash2, color: "text-red-600 bg-red-50 dark:bg-red-500/10 dark:text-red-400" },
  "task.restored": { verb: "restored", icon: ArchiveRestore, color: "text-emerald-600 bg-emerald-50 dark:bg-emerald-500/10 dark:text-emerald-400" },
};

export function normalizeEventType(t: string): string {
  // Accept "task.created", "task-created", "created" or "com.taskfleet.task-created.v1".
  const m = /(created|updated|completed|deleted|reopened)/.exec(t);
  return m ? `task.${m[1]}` : t;
}

const ACTORS: Record<string, string> = {
  user: "You",
  recurring: "Recurring schedule",
  notification: "Reminders",
  assistant: "Assistant",
  system: "System",
};

const FIELD_LABELS: Record<string, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  priority: "Priority",
  tags: "Tags",
  due_date: "Due",
  reminder_at: "Reminder",
  recurring_rule: "Repeat",
  recurring_mode: "Repeat mode",
  recurring_end_date: "Repeat ends",
  timezone: "Time zone",
  completed_at: "Completed",
};

function show(field: string, v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  if (field === "recurring_rule") return describeRule(String(v));
  if (Array.isArray(v)) return v.length ? v.map((x) => `#${x}`).join(" ") : "—";
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v))
    return new Date(v).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  if (typeof v === "string") return v.length > 80 ? `${v.slice(0, 80)}…` : v;
  return JSON.stringify(v);
}

function dayLabel(iso: string) {
  const d = new Date(iso);
  const today = new Date();
  const y = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return d.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" });
}

export function ActivityView({ taskId }: { taskId?: string }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [type, setType] = useState("");
  const [more, setMore] = useState(false);
  const [verify, setVerify] = useState<{ intact: boolean; entries?: number } | null>(null);
  const req = useRef(0);

  const load = useCallback(async () => {
    const id = ++req.current;
    try {
      const page = await api.audit({ task_id: taskId, event_type: type || undefined, limit: 50 });
      if (id !== req.current) return;
      setEntries(page.items);
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      if (id !== req.current) return;
      setError(e instanceof Error ? e.message : "Could not load activity");
    }
  }, [taskId, type]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    fetch("/api/audit/verify", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null))
      .then((v: { intact: boolean; entries?: number } | null) => setVerify(v))
      .catch(() => setVerify(null));
  }, []);

  // New events arrive in the audit trail a moment after the push; refresh shortly after.
  const timer = useRef<number | undefined>(undefined);
  useRealtimeEvents(
    (msg) => {
      if (msg.type === "reminder.due" || msg.type === "resync") return;
      if (taskId && msg.task_id !== taskId) return;
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void load(), 700);
    },
    () => void load(),
  );

  const loadMore = async () => {
    if (!cursor) return;
    setMore(true);
    try {
      const page = await api.audit({ task_id: taskId, event_type: type || undefined, cursor, limit: 50 });
      setEntries((e) => [...(e ?? []), ...page.items]);
      setCursor(page.next_cursor);
    } finally {
      setMore(false);
    }
  };

  const title = taskId ? (entries?.find((e) => e.snapshot?.title)?.snapshot?.title ?? "this task") : null;

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Activity</h1>
          <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">
            {taskId ? <>Every change to “{title}”</> : "Every change to your tasks, from every device."}
          </p>
        </div>
        <div className="flex items-center gap-2">
          {verify && (
            <span
              className={cn(
                "inline-flex items-center gap-1 rounded-full px-2.5 py-1 text-xs font-medium",
                verify.intact
                  ? "bg-emerald-50 text-emerald-700 dark:bg-emerald-500/10 dark:text-emerald-400"
                  : "bg-red-50 text-red-700 dark:bg-red-500/10 dark:text-red-400",
              )}
              title="The audit trail is hash-chained: any tampering breaks the chain."
            >
              {verify.intact ? <ShieldCheck className="size-3.5" /> : <AlertTriangle className="size-3.5" />}
              {verify.intact ? "Trail verified" : "Trail broken"}
            </span>
          )}
          <label htmlFor="activity-type" className="sr-only">
            Event type
          </label>
          <select
            id="activity-type"
            value={type}
            onChange={(e) => setType(e.target.value)}
            className="h-9 rounded-lg border border-zinc-200 bg-white pr-8 pl-2.5 text-sm shadow-xs dark:border-zinc-800 dark:bg-zinc-900"
          >
            <option value="">All events</option>
            <option value="task-created">Created</option>
            <option value="task-updated">Updated</option>
            <option value="task-completed">Completed</option>
            <option value="task-deleted">Deleted</option>
          </select>
        </div>
      </div>
      {taskId && (
        <Link
          href="/activity"
          className="inline-flex items-center gap-1 rounded-full bg-zinc-100 py-1 pr-2 pl-3 text-xs font-medium text-zinc-700 hover:bg-zinc-200 dark:bg-zinc-800 dark:text-zinc-300 dark:hover:bg-zinc-700"
        >
          Task: {title} <X className="size-3" aria-label="Show all activity" />
        </Link>
      )}
      {error && (
        <div role="alert" className="rounded-xl border border-red-200 bg-red-50/60 px-6 py-8 text-center dark:border-red-500/20 dark:bg-red-500/5">
          <p className="font-medium">Couldn&apos;t load activity</p>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{error}</p>
          <Button className="mt-4" onClick={() => void load()}>
            Try again
          </Button>
        </div>
      )}
      {!error && entries === null && (
        <div className="space-y-3" aria-busy>
          {[0, 1, 2, 3].map((i) => (
            <div key={i} className="h-16 animate-pulse rounded-xl bg-zinc-200/60 dark:bg-zinc-800/60" />
          ))}
        </div>
      )}
      {!error && entries?.length === 0 && (
        <div className="rounded-xl border border-dashed border-zinc-300 px-6 py-14 text-center dark:border-zinc-700">
          <p className="font-medium">No activity yet</p>
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Changes to your tasks will be listed here.</p>
        </div>
      )}
      {!!entries?.length && (
        <ol className="relative space-y-2" data-testid="activity-list">
          {entries.map((e, i) => {
            const kind = normalizeEventType(e.event_type);
            const allChanges = Object.entries(e.changes ?? {}).filter(([f]) => f !== "updated_at" && f !== "version");
            // A restore from the trash is an update whose one change is the pseudo-field `deleted`.
            const restored = kind === "task.updated" && allChanges.length === 1 && allChanges[0]![0] === "deleted";
            const meta = (restored ? EVENT_META["task.restored"] : EVENT_META[kind]) ?? EVENT_META["task.updated"]!;
            const Icon = meta.icon;
            const day = dayLabel(e.occurred_at);
            const header = i === 0 || dayLabel(entries[i - 1]!.occurred_at) !== day;
            const changes = restored ? [] : allChanges;
            const verb =
              kind === "task.updated" && changes.length === 1 && changes[0]![0] === "status" && changes[0]![1].after === "pending"
                ? "reopened"
                : meta.verb;
            return (
              <li key={e.event_id} data-testid="activity-entry" data-event-type={restored ? "task.restored" : kind}>
                {header && (
                  <h2 className="mt-4 mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase first:mt-0 dark:text-zinc-400">
                    {day}
                  </h2>
                )}
                <motion.div
                  initial={{ opacity: 0, y: 4 }}
                  animate={{ opacity: 1, y: 0 }}
                  transition={{ delay: Math.min(i, 10) * 0.02 }}
                  className="flex gap-3 rounded-xl border border-zinc-200 bg-white px-4 py-3 dark:border-zinc-800 dark:bg-zinc-900"
                >
                  <span className={cn("mt-0.5 inline-flex size-7 shrink-0 items-center justify-center rounded-full", meta.color)}>
                    <Icon className="size-4" aria-hidden />
                  </span>
                  <div className="min-w-0 flex-1">
                    <p className="text-sm">
                      <span className="font-medium">{ACTORS[e.actor] ?? e.actor}</span> {verb}{" "}
                      {taskId ? (
                        <span className="font-medium">“{e.snapshot?.title ?? "task"}”</span>
                      ) : (
                        <Link href={`/activity?task_id=${e.task_id}`} className="font-medium hover:underline">
                          “{e.snapshot?.title ?? "task"}”
                        </Link>
                      )}
                      {restored && <span> from Trash</span>}
                      {kind === "task.created" && e.actor === "recurring" && (
                        <span className="text-zinc-500 dark:text-zinc-400"> (next occurrence)</span>
                      )}
                    </p>
                    {changes.length > 0 && (
                      <ul className="mt-1.5 space-y-1">
                        {changes.map(([field, c]) => (
                          <li key={field} className="flex flex-wrap items-center gap-x-1.5 text-xs text-zinc-600 dark:text-zinc-400">
                            <span className="font-medium text-zinc-700 dark:text-zinc-300">{FIELD_LABELS[field] ?? field}</span>
                            <span className="rounded bg-zinc-100 px-1 line-through decoration-zinc-400 dark:bg-zinc-800">
                              {show(field, c.before)}
                            </span>
                            <ArrowRight className="size-3 text-zinc-400" aria-label="changed to" />
                            <span className="rounded bg-brand-50 px-1 text-brand-800 dark:bg-brand-500/10 dark:text-brand-200">
                              {show(field, c.after)}
                            </span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </div>
                  <time
                    dateTime={e.occurred_at}
                    title={new Date(e.occurred_at).toLocaleString()}
                    className="shrink-0 text-xs text-zinc-400"
                  >
                    {relativeTime(e.occurred_at)}
                  </time>
                </motion.div>
              </li>
            );
          })}
        </ol>
      )}
      {cursor && (
        <div className="text-center">
          <Button onClick={loadMore} loading={more}>
            Load older
          </Button>
        </div>
      )}
    </div>
  );
}
