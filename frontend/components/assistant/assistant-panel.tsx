"use client";
// The assistant's side panel. On wide screens it sits beside the task list (non-modal: the list
// stays usable and updates live while the assistant works); on phones it covers the screen and
// behaves like dialog.tsx (focus trapped, page scroll locked). Either way focus moves in on
// open, Escape closes it, and focus goes back to the toggle.
import { forwardRef, useCallback, useEffect, useId, useRef, useState, useSyncExternalStore } from "react";
import { AnimatePresence, motion } from "framer-motion";
import { ChevronLeft, History, MessageSquarePlus, PowerOff, RefreshCw, Sparkles, X } from "lucide-react";
import { useAssistant, type AssistantState } from "@/hooks/use-assistant";
import type { Thread } from "@/lib/assistant/types";
import { cn } from "@/lib/cn";
import { FOCUSABLE, trapTab } from "@/lib/focus";
import { Dialog } from "../dialog";
import { Button, IconButton, Spinner } from "../ui";
import { AgentAccess } from "./agent-access";
import { ConfirmationCardView } from "./cards";
import { Composer } from "./composer";
import { ConversationView } from "./conversation-view";
import { ThreadList } from "./thread-list";

const COMPACT = "(max-width: 639px)";

function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (notify) => {
      if (typeof window.matchMedia !== "function") return () => {};
      const mq = window.matchMedia(query);
      mq.addEventListener("change", notify);
      return () => mq.removeEventListener("change", notify);
    },
    () => typeof window.matchMedia === "function" && window.matchMedia(query).matches,
    () => false,
  );
}

export const AssistantToggle = forwardRef<HTMLButtonElement, { open: boolean; onToggle: () => void }>(function AssistantToggle(
  { open, onToggle },
  ref,
) {
  return (
    <button
      ref={ref}
      type="button"
      data-testid="assistant-toggle"
      aria-label={open ? "Close the assistant" : "Open the assistant"}
      title="Assistant"
      aria-expanded={open}
      aria-controls="assistant-panel"
      onClick={onToggle}
      className={cn(
        "inline-flex size-9 items-center justify-center rounded-lg transition",
        open
          ? "bg-brand-50 text-brand-700 dark:bg-brand-500/15 dark:text-brand-300"
          : "text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100",
      )}
    >
      <Sparkles className="size-[18px]" aria-hidden />
    </button>
  );
});

const SUGGESTIONS = ["Add a task to buy milk tomorrow at 5pm #home p1", "What is due today?", "Which of my tasks are overdue?"];

/** Cards that wait for a decision but belong to no open conversation (another thread, or an
 * agent connected over MCP). */
function WaitingCards({ a }: { a: AssistantState }) {
  if (!a.waiting.length) return null;
  return (
    <section aria-label="Waiting for your decision" data-testid="assistant-waiting" className="space-y-2">
      <h3 className="text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">Waiting for your decision</h3>
      {a.waiting.map((w) => (
        <ConfirmationCardView
          key={w.card.id}
          card={w.card}
          status={w.status}
          busy={a.deciding.has(w.card.id)}
          onDecide={(confirm) => void a.decide(w.card, confirm)}
          external
        />
      ))}
    </section>
  );
}

function Disabled({ a }: { a: AssistantState }) {
  return (
    <div className="min-h-0 flex-1 overflow-y-auto">
      <div data-testid="assistant-disabled" role="status" className="flex flex-col items-center px-8 pt-16 pb-8 text-center">
        <span className="inline-flex size-11 items-center justify-center rounded-full bg-zinc-100 text-zinc-500 dark:bg-zinc-800 dark:text-zinc-400">
          <PowerOff className="size-5" aria-hidden />
        </span>
        <p className="mt-3 font-medium">The assistant is off — no model provider is configured</p>
        <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">
          Whoever runs this taskfleet can turn it on by giving backend-api a model provider (ASSISTANT_API_KEY).
        </p>
      </div>
      <div className="px-4 pb-4">
        <WaitingCards a={a} />
        <AgentAccess />
      </div>
    </div>
  );
}

function Chat({ a, onSuggest }: { a: AssistantState; onSuggest: (text: string) => void }) {
  const { entries } = a.conversation;
  return (
    <div className="space-y-3 p-4">
      <WaitingCards a={a} />
      {a.loadingItems && !entries.length ? (
        <div className="flex justify-center py-10">
          <Spinner className="size-5" />
        </div>
      ) : !entries.length ? (
        <div className="px-2 py-8 text-center">
          <Sparkles className="mx-auto size-7 text-brand-400" aria-hidden />
          <p className="mt-2 font-medium">What should I do with your tasks?</p>
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">I act only on your own tasks, and ask before deleting anything.</p>
          <div className="mt-4 flex flex-col items-center gap-1.5">
            {SUGGESTIONS.map((s) => (
              <button
                key={s}
                type="button"
                onClick={() => onSuggest(s)}
                className="rounded-full border border-zinc-200 px-3 py-1 text-xs text-zinc-600 transition hover:border-brand-400 hover:text-brand-700 dark:border-zinc-800 dark:text-zinc-300 dark:hover:text-brand-300"
              >
                {s}
              </button>
            ))}
          </div>
        </div>
      ) : (
        <ConversationView entries={entries} deciding={a.deciding} onDecide={(card, confirm) => void a.decide(card, confirm)} />
      )}
    </div>
  );
}

export function AssistantPanel({
  open,
  onClose,
  returnFocusTo,
}: {
  open: boolean;
  onClose: () => void;
  returnFocusTo: React.RefObject<HTMLElement | null>;
}) {
  const a = useAssistant(open);
  const compact = useMediaQuery(COMPACT);
  const panel = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const titleId = useId();
  const [view, setView] = useState<"chat" | "threads">("chat");
  const [draft, setDraft] = useState("");
  const [deleting, setDeleting] = useState<Thread | null>(null);
  const [deleteBusy, setDeleteBusy] = useState(false);

  const focusInside = useCallback(() => {
    const target = inputRef.current ?? panel.current?.querySelector<HTMLElement>(FOCUSABLE) ?? panel.current;
    target?.focus();
  }, []);

  // Focus in on open, back to the toggle on close (unless the user already moved elsewhere).
  useEffect(() => {
    if (!open) return;
    const t = window.setTimeout(focusInside, 10);
    const toggle = returnFocusTo.current;
    const node = panel.current;
    return () => {
      window.clearTimeout(t);
      const active = document.activeElement;
      if (!active || active === document.body || node?.contains(active)) toggle?.focus();
    };
  }, [open, focusInside, returnFocusTo]);

  // The composer appears once the status is known: move focus to it if it is still ours.
  useEffect(() => {
    if (!open || !a.enabled || view !== "chat") return;
    const active = document.activeElement;
    if (!active || active === document.body || panel.current?.contains(active)) inputRef.current?.focus();
  }, [open, a.enabled, view]);

  // Phones: the panel covers the page, so it traps Tab and stops the page scrolling under it.
  useEffect(() => {
    if (!open || !compact) return;
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    const onKey = (e: KeyboardEvent) => {
      if (!panel.current || document.querySelector('[role="alertdialog"]')) return;
      trapTab(e, panel.current);
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.body.style.overflow = overflow;
    };
  }, [open, compact]);

  const openThread = (id: string | null) => {
    if (id !== a.threadId || id === null) a.selectThread(id);
    setView("chat");
    window.setTimeout(() => inputRef.current?.focus(), 0);
  };

  const suggest = (text: string) => {
    setDraft(text);
    inputRef.current?.focus();
  };

  const confirmDelete = async () => {
    if (!deleting) return;
    setDeleteBusy(true);
    const ok = await a.removeThread(deleting.id);
    setDeleteBusy(false);
    if (!ok) return;
    setDeleting(null);
    // The dialog gives focus back to the delete button, which went with the conversation.
    window.setTimeout(() => panel.current?.querySelector<HTMLElement>('[data-testid="assistant-new-thread-list"]')?.focus(), 20);
  };

  const ready = a.status.state === "ready";
  const title = view === "threads" ? "Conversations" : a.thread?.title || "Assistant";

  return (
    <>
      <AnimatePresence>
        {open && (
          <motion.div
            ref={panel}
            id="assistant-panel"
            data-testid="assistant-panel"
            role="dialog"
            aria-modal={compact ? "true" : undefined}
            aria-labelledby={titleId}
            tabIndex={-1}
            initial={{ opacity: 0, x: 24 }}
            animate={{ opacity: 1, x: 0 }}
            exit={{ opacity: 0, x: 24 }}
            transition={{ duration: 0.18 }}
            onKeyDown={(e) => {
              if (e.key === "Escape" && !e.defaultPrevented) {
                e.stopPropagation();
                onClose();
              }
            }}
            className="fixed inset-0 z-40 flex flex-col bg-white outline-none sm:top-14 sm:z-20 sm:left-auto sm:w-[26rem] sm:border-l sm:border-zinc-200 sm:shadow-xl sm:shadow-zinc-900/5 dark:bg-zinc-950 sm:dark:border-zinc-800"
          >
            <div className="flex items-center gap-1 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
              {view === "threads" ? (
                <IconButton label="Back to the conversation" onClick={() => setView("chat")}>
                  <ChevronLeft className="size-4" aria-hidden />
                </IconButton>
              ) : (
                <span className="inline-flex size-8 items-center justify-center text-brand-600 dark:text-brand-400" aria-hidden>
                  <Sparkles className="size-4" />
                </span>
              )}
              <div className="min-w-0 flex-1">
                <h2 id={titleId} className="truncate text-sm font-semibold" data-testid="assistant-title">
                  {title}
                </h2>
                {ready && a.enabled && "model" in a.status && a.status.model && view === "chat" && (
                  <p className="truncate text-[11px] text-zinc-500 dark:text-zinc-400">{a.status.model}</p>
                )}
              </div>
              {a.enabled && (
                <>
                  <IconButton
                    label="Conversations"
                    data-testid="assistant-threads-toggle"
                    aria-pressed={view === "threads"}
                    onClick={() => setView((v) => (v === "threads" ? "chat" : "threads"))}
                  >
                    <History className="size-4" aria-hidden />
                  </IconButton>
                  <IconButton label="New conversation" data-testid="assistant-new-thread" onClick={() => openThread(null)}>
                    <MessageSquarePlus className="size-4" aria-hidden />
                  </IconButton>
                </>
              )}
              <IconButton label="Close the assistant" data-testid="assistant-close" onClick={onClose}>
                <X className="size-4" aria-hidden />
              </IconButton>
            </div>

            {a.notice && (
              <div
                role="alert"
                data-testid="assistant-notice"
                className={cn(
                  "flex items-start gap-2 border-b px-4 py-2.5 text-sm",
                  a.notice.tone === "warning"
                    ? "border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-500/20 dark:bg-amber-500/10 dark:text-amber-200"
                    : "border-red-200 bg-red-50 text-red-800 dark:border-red-500/20 dark:bg-red-500/10 dark:text-red-300",
                )}
              >
                <span className="flex-1 break-words">{a.notice.text}</span>
                <button type="button" onClick={a.dismissNotice} aria-label="Dismiss" className="shrink-0 opacity-70 hover:opacity-100">
                  <X className="size-4" aria-hidden />
                </button>
              </div>
            )}

            {a.status.state === "loading" || a.status.state === "idle" ? (
              <div className="flex flex-1 items-center justify-center" aria-busy="true">
                <Spinner className="size-5" />
              </div>
            ) : a.status.state === "error" ? (
              <div role="alert" className="flex flex-1 flex-col items-center justify-center px-8 text-center">
                <p className="font-medium">Could not reach the assistant</p>
                <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">{a.status.message}</p>
                <Button className="mt-4" onClick={a.retryStatus}>
                  <RefreshCw className="size-4" aria-hidden /> Try again
                </Button>
              </div>
            ) : !a.enabled ? (
              <Disabled a={a} />
            ) : (
              <>
                <div className="min-h-0 flex-1 overflow-y-auto overscroll-contain">
                  {view === "threads" ? (
                    <>
                      {a.waiting.length > 0 && (
                        <div className="px-3 pt-3">
                          <WaitingCards a={a} />
                        </div>
                      )}
                      <ThreadList a={a} onOpen={openThread} onDelete={setDeleting} />
                    </>
                  ) : (
                    <Chat a={a} onSuggest={suggest} />
                  )}
                </div>
                {view === "chat" && <Composer a={a} inputRef={inputRef} text={draft} setText={setDraft} />}
              </>
            )}
          </motion.div>
        )}
      </AnimatePresence>
      <Dialog
        open={!!deleting}
        onClose={() => setDeleting(null)}
        role="alertdialog"
        title="Delete this conversation?"
        description={deleting ? `“${deleting.title || "New conversation"}” and its messages will be deleted. Your tasks stay as they are.` : undefined}
      >
        <div className="flex justify-end gap-2 px-5 pt-4 pb-5">
          <Button variant="ghost" onClick={() => setDeleting(null)}>
            Cancel
          </Button>
          <Button variant="danger" data-testid="assistant-thread-delete-confirm" onClick={confirmDelete} loading={deleteBusy}>
            Delete
          </Button>
        </div>
      </Dialog>
    </>
  );
}
