"use client";
import { useState } from "react";
import { AlarmClock, BellRing, ExternalLink } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError } from "@/lib/api";
import { cn } from "@/lib/cn";
import { formatDue } from "@/lib/datetime";
import { SNOOZE_CHOICES, snoozeReminder, type SnoozeFor } from "@/lib/reminders";

/**
 * "Snooze: 10 min · 1 hour · Tomorrow" for one task's reminder. `onDone` runs after a snooze
 * took (the toast closes itself, the list reloads).
 */
export function SnoozeButtons({
  taskId,
  title,
  onDone,
  className,
}: {
  taskId: string;
  title: string;
  onDone?: () => void;
  className?: string;
}) {
  const [busy, setBusy] = useState<SnoozeFor | null>(null);
  const snooze = async (choice: SnoozeFor) => {
    setBusy(choice);
    try {
      const task = await snoozeReminder(api, taskId, choice);
      toast.success(`Snoozed “${task.title}”`, {
        description: task.reminder_at ? `Reminding you again ${formatDue(task.reminder_at)}` : undefined,
      });
      onDone?.();
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not snooze the reminder");
    } finally {
      setBusy(null);
    }
  };
  return (
    <div role="group" aria-label={`Snooze “${title}”`} className={cn("flex flex-wrap items-center gap-1", className)}>
      <AlarmClock className="size-3.5 text-zinc-400" aria-hidden />
      {SNOOZE_CHOICES.map((c) => (
        <button
          key={c.for}
          type="button"
          disabled={busy !== null}
          aria-label={c.long}
          data-snooze={c.for}
          onClick={() => void snooze(c.for)}
          className="rounded-md border border-zinc-200 px-1.5 py-0.5 text-[11px] font-medium text-zinc-600 hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
        >
          {busy === c.for ? "…" : c.label}
        </button>
      ))}
    </div>
  );
}

/** The toast a reminder shows: what is due, snooze choices, and a way to the task. */
export function ReminderToast({
  toastId,
  taskId,
  title,
  description,
  onOpen,
}: {
  toastId: string | number;
  taskId: string;
  title: string;
  description: string;
  onOpen: () => void;
}) {
  return (
    <div
      data-testid="reminder-toast"
      className="w-[356px] max-w-[calc(100vw-2rem)] rounded-lg border border-zinc-200 bg-white p-4 text-sm shadow-lg dark:border-zinc-800 dark:bg-zinc-900"
    >
      <div className="flex items-start gap-2">
        <BellRing className="mt-0.5 size-4 shrink-0 text-brand-500" aria-hidden />
        <div className="min-w-0 flex-1">
          <p className="font-medium">Reminder: {title}</p>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{description}</p>
        </div>
        <button
          type="button"
          aria-label={`Open “${title}”`}
          onClick={() => {
            toast.dismiss(toastId);
            onOpen();
          }}
          className="inline-flex shrink-0 items-center gap-1 rounded-md px-1.5 py-0.5 text-xs font-medium text-brand-600 hover:bg-brand-50 dark:text-brand-400 dark:hover:bg-brand-500/10"
        >
          Open <ExternalLink className="size-3" aria-hidden />
        </button>
      </div>
      <SnoozeButtons taskId={taskId} title={title} className="mt-2 pl-6" onDone={() => toast.dismiss(toastId)} />
    </div>
  );
}
