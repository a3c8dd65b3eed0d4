"use client";
// The cards inside a conversation: one per tool call, and the confirmation cards that wait for
// the user. All model and tool text is rendered as plain React text.
import { useEffect, useId, useState } from "react";
import { AlertTriangle, Check, CircleAlert, Loader2, ShieldQuestion, Wrench } from "lucide-react";
import type { CardStatus, ToolState } from "@/lib/assistant/conversation";
import { cardOutcome, cardQuestion, summarizeArgs, summarizeResult, taskMeta, toolLabel } from "@/lib/assistant/format";
import { cardTasks, type ConfirmationCard } from "@/lib/assistant/types";
import { relativeTime } from "@/lib/datetime";
import { cn } from "@/lib/cn";
import { Button } from "../ui";

export function ToolCallCard({
  name,
  args,
  state,
  result,
  unfinished,
}: {
  name: string;
  args: string;
  state: ToolState;
  result?: unknown;
  unfinished?: boolean;
}) {
  const summary = summarizeArgs(args);
  const outcome = unfinished ? "Did not finish" : state === "running" ? "" : summarizeResult(result);
  return (
    <div
      data-testid="tool-call-card"
      data-tool={name}
      data-state={state}
      className={cn(
        "flex items-start gap-2 rounded-lg border px-2.5 py-2 text-xs",
        state === "failed"
          ? "border-red-200 bg-red-50/60 dark:border-red-500/20 dark:bg-red-500/5"
          : "border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-900/60",
      )}
    >
      <span className="mt-px shrink-0" aria-hidden>
        {state === "running" ? (
          <Loader2 className="size-3.5 animate-spin text-brand-500" />
        ) : state === "finished" ? (
          <Check className="size-3.5 text-emerald-600 dark:text-emerald-400" />
        ) : (
          <CircleAlert className="size-3.5 text-red-600 dark:text-red-400" />
        )}
      </span>
      <div className="min-w-0 flex-1">
        <p className="flex flex-wrap items-baseline gap-x-1.5">
          <span className="font-medium text-zinc-800 dark:text-zinc-200">{toolLabel(name)}</span>
          <span className="sr-only">
            {state === "running" ? "running" : state === "finished" ? "finished" : "failed"}
          </span>
          <code className="font-mono text-[11px] text-zinc-400 dark:text-zinc-500">
            <Wrench className="mr-0.5 inline size-2.5" aria-hidden />
            {name}
          </code>
        </p>
        {summary && (
          <p data-testid="tool-call-args" className="mt-0.5 break-words text-zinc-600 dark:text-zinc-400">
            {summary}
          </p>
        )}
        {outcome && (
          <p
            data-testid="tool-call-result"
            className={cn("mt-0.5 break-words", state === "failed" ? "text-red-700 dark:text-red-400" : "text-zinc-500 dark:text-zinc-400")}
          >
            {outcome}
          </p>
        )}
      </div>
    </div>
  );
}

/** Re-renders every `ms` while `on`, so "expires in" and expiry stay current. */
function useNow(on: boolean, ms = 15_000) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(t);
  }, [on, ms]);
  return now;
}

export function ConfirmationCardView({
  card,
  status,
  busy,
  onDecide,
  external,
}: {
  card: ConfirmationCard;
  status: CardStatus;
  busy: boolean;
  onDecide: (confirm: boolean) => void;
  /** Asked for outside this conversation (another thread or an external agent). */
  external?: boolean;
}) {
  const titleId = useId();
  const expiresAt = card.expires_at ? Date.parse(card.expires_at) : NaN;
  const now = useNow(status === "pending" && !Number.isNaN(expiresAt));
  const effective: CardStatus = status === "pending" && !Number.isNaN(expiresAt) && expiresAt <= now ? "expired" : status;
  const tasks = cardTasks(card);
  const destructive = card.action !== "complete_tasks";
  const pending = effective === "pending";
  return (
    <div
      role="group"
      aria-labelledby={titleId}
      data-testid="confirmation-card"
      data-confirmation-id={card.id}
      data-status={effective}
      className={cn(
        "rounded-xl border p-3 text-sm",
        pending
          ? "border-amber-300 bg-amber-50/70 dark:border-amber-500/30 dark:bg-amber-500/5"
          : "border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900",
      )}
    >
      <p id={titleId} className="flex items-center gap-1.5 font-medium">
        <ShieldQuestion className={cn("size-4", pending ? "text-amber-600 dark:text-amber-400" : "text-zinc-400")} aria-hidden />
        {cardQuestion(card)}
      </p>
      {external && (
        <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
          {card.source === "mcp" || !card.thread_id ? "Asked by a connected agent" : "From another conversation"}
        </p>
      )}
      <ul className="mt-2 space-y-1" aria-label="Tasks">
        {tasks.map((t) => (
          <li key={t.id} data-testid="confirmation-task" className="rounded-md bg-white/80 px-2 py-1.5 dark:bg-zinc-950/40">
            <span className="block break-words text-zinc-900 dark:text-zinc-100">{t.title}</span>
            {taskMeta(t) && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{taskMeta(t)}</span>}
          </li>
        ))}
        {!tasks.length && <li className="text-xs text-zinc-500">The task is not shown.</li>}
      </ul>
      {pending ? (
        <>
          {!Number.isNaN(expiresAt) && (
            <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">Expires {relativeTime(new Date(expiresAt).toISOString(), now)}</p>
          )}
          <div className="mt-3 flex justify-end gap-2">
            <Button size="sm" variant="ghost" data-testid="cancel-button" disabled={busy} onClick={() => onDecide(false)}>
              Cancel
            </Button>
            <Button
              size="sm"
              variant={destructive ? "danger" : "primary"}
              data-testid="confirm-button"
              loading={busy}
              onClick={() => onDecide(true)}
            >
              Confirm
            </Button>
          </div>
        </>
      ) : (
        <p
          role="status"
          data-testid="confirmation-outcome"
          className={cn(
            "mt-2 flex items-center gap-1.5 text-xs font-medium",
            effective === "confirmed" ? "text-emerald-700 dark:text-emerald-400" : "text-zinc-500 dark:text-zinc-400",
          )}
        >
          {effective === "confirmed" ? <Check className="size-3.5" aria-hidden /> : <AlertTriangle className="size-3.5" aria-hidden />}
          {cardOutcome(card, effective)}
        </p>
      )}
    </div>
  );
}
