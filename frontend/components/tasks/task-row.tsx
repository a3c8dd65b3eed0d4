"use client";
import Link from "next/link";
import { forwardRef } from "react";
import { motion } from "framer-motion";
import { AlarmClock, Check, Flag, History, Pencil, Repeat, Trash2 } from "lucide-react";
import { cn } from "@/lib/cn";
import { formatDue } from "@/lib/datetime";
import { describeRule } from "@/lib/recurrence";
import type { Task } from "@/lib/types";

const PRIORITY_STYLE = {
  high: "text-red-600 dark:text-red-400",
  medium: "text-amber-600 dark:text-amber-400",
  low: "text-zinc-400 dark:text-zinc-500",
} as const;

export const TaskRow = forwardRef<
  HTMLLIElement,
  {
    task: Task;
    onToggle: (t: Task) => void;
    onEdit: (t: Task) => void;
    onDelete: (t: Task) => void;
    busy?: boolean;
  }
>(function TaskRow({ task, onToggle, onEdit, onDelete, busy }, ref) {
  const done = task.status === "completed";
  const overdue = !done && task.due_date && Date.parse(task.due_date) < Date.now();
  return (
    <motion.li
      ref={ref}
      layout="position"
      initial={{ opacity: 0, y: -6 }}
      animate={{ opacity: 1, y: 0 }}
      exit={{ opacity: 0, height: 0, marginTop: 0, transition: { duration: 0.18 } }}
      transition={{ duration: 0.2 }}
      data-testid="task-row"
      data-task-id={task.id}
      data-version={task.version}
      className="group relative flex items-start gap-3 border-b border-zinc-100 bg-white px-3 py-3 transition-colors last:border-b-0 hover:bg-zinc-50/80 sm:px-4 dark:border-zinc-800/70 dark:bg-zinc-900 dark:hover:bg-zinc-800/40"
    >
      <button
        type="button"
        role="checkbox"
        aria-checked={done}
        aria-label={done ? `Reopen "${task.title}"` : `Complete "${task.title}"`}
        disabled={busy}
        onClick={() => onToggle(task)}
        className={cn(
          "mt-0.5 inline-flex size-5 shrink-0 items-center justify-center rounded-full border-[1.5px] transition",
          done
            ? "border-brand-500 bg-brand-500 text-white"
            : task.priority === "high"
              ? "border-red-400 hover:bg-red-50 dark:hover:bg-red-500/10"
              : "border-zinc-300 hover:border-brand-500 hover:bg-brand-50 dark:border-zinc-600 dark:hover:bg-brand-500/10",
        )}
      >
        {done && <Check className="size-3" strokeWidth={3} />}
      </button>
      <button
        type="button"
        onClick={() => onEdit(task)}
        className="min-w-0 flex-1 text-left focus-visible:outline-offset-4"
        aria-label={`Edit "${task.title}"`}
      >
        <span
          data-testid="task-title"
          className={cn(
            "block text-[15px] leading-snug break-words",
            done ? "text-zinc-400 line-through decoration-zinc-300 dark:text-zinc-500" : "text-zinc-900 dark:text-zinc-100",
          )}
        >
          {task.title}
        </span>
        {task.description && (
          <span className="mt-0.5 line-clamp-1 block text-[13px] text-zinc-500 dark:text-zinc-400">{task.description}</span>
        )}
        <span className="mt-1.5 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-zinc-500 dark:text-zinc-400">
          {task.priority !== "medium" && (
            <span className={cn("inline-flex items-center gap-1 font-medium capitalize", PRIORITY_STYLE[task.priority])}>
              <Flag className="size-3" aria-hidden />
              {task.priority}
            </span>
          )}
          {task.due_date && (
            <span
              data-testid="task-due"
              className={cn("inline-flex items-center gap-1", overdue && "font-medium text-red-600 dark:text-red-400")}
            >
              {formatDue(task.due_date)}
            </span>
          )}
          {task.reminder_at && !done && (
            <span className="inline-flex items-center gap-1" title={`Reminder ${new Date(task.reminder_at).toLocaleString()}`}>
              <AlarmClock className="size-3" aria-hidden />
              <span className="sr-only">Reminder set</span>
              {new Date(task.reminder_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}
            </span>
          )}
          {task.recurring_rule && (
            <span className="inline-flex items-center gap-1" data-testid="task-repeat">
              <Repeat className="size-3" aria-hidden />
              {describeRule(task.recurring_rule)}
            </span>
          )}
          {task.tags.map((t) => (
            <span
              key={t}
              className="rounded-md bg-zinc-100 px-1.5 py-0.5 font-medium text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"
            >
              #{t}
            </span>
          ))}
        </span>
      </button>
      <div className="flex shrink-0 items-center gap-0.5 sm:opacity-0 sm:transition sm:group-focus-within:opacity-100 sm:group-hover:opacity-100">
        <button
          type="button"
          onClick={() => onEdit(task)}
          aria-label={`Edit details of "${task.title}"`}
          className="hidden size-8 items-center justify-center rounded-lg text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 sm:inline-flex dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
        >
          <Pencil className="size-4" />
        </button>
        <Link
          href={`/activity?task_id=${task.id}`}
          aria-label={`History of "${task.title}"`}
          title="History"
          className="hidden size-8 items-center justify-center rounded-lg text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 sm:inline-flex dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
        >
          <History className="size-4" />
        </Link>
        <button
          type="button"
          onClick={() => onDelete(task)}
          aria-label={`Delete "${task.title}"`}
          className="inline-flex size-8 items-center justify-center rounded-lg text-zinc-400 hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-500/10"
        >
          <Trash2 className="size-4" />
        </button>
      </div>
    </motion.li>
  );
});
