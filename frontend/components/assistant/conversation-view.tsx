"use client";
// The messages and cards of the open conversation, kept scrolled to the newest while the reader
// is at the bottom. Text is plain text: no markdown, no HTML, no links or images fetched.
import { useEffect, useLayoutEffect, useRef } from "react";
import { AlertTriangle } from "lucide-react";
import type { Entry } from "@/lib/assistant/conversation";
import type { ConfirmationCard } from "@/lib/assistant/types";
import { cn } from "@/lib/cn";
import { ConfirmationCardView, ToolCallCard } from "./cards";

function Message({ entry }: { entry: Extract<Entry, { type: "message" }> }) {
  const user = entry.role === "user";
  if (!user && !entry.text && !entry.streaming) return null; // a round that only called tools
  return (
    <div className={cn("flex", user ? "justify-end" : "justify-start")}>
      <div
        data-testid="assistant-message"
        data-role={entry.role}
        data-streaming={entry.streaming ? "true" : "false"}
        aria-busy={entry.streaming || undefined}
        className={cn(
          "max-w-[88%] rounded-2xl px-3.5 py-2 text-sm leading-relaxed",
          user
            ? "rounded-br-md bg-brand-600 text-white dark:bg-brand-500"
            : "rounded-bl-md bg-zinc-100 text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100",
          entry.local && "opacity-80",
        )}
      >
        <span className="sr-only">{user ? "You: " : "Assistant: "}</span>
        {entry.text ? (
          <span data-testid="assistant-message-text" className="whitespace-pre-wrap break-words">
            {entry.text}
          </span>
        ) : (
          <span className="inline-flex items-center gap-1 py-1" aria-label="The assistant is thinking">
            {[0, 1, 2].map((i) => (
              <span key={i} className="size-1.5 animate-pulse-dot rounded-full bg-zinc-400" style={{ animationDelay: `${i * 0.2}s` }} />
            ))}
          </span>
        )}
        {entry.streaming && entry.text && <span aria-hidden className="ml-0.5 inline-block h-3.5 w-1.5 translate-y-0.5 animate-pulse bg-current opacity-60" />}
      </div>
    </div>
  );
}

export function ConversationView({
  entries,
  deciding,
  onDecide,
}: {
  entries: Entry[];
  deciding: Set<string>;
  onDecide: (card: ConfirmationCard, confirm: boolean) => void;
}) {
  const end = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);

  useEffect(() => {
    const el = box.current?.parentElement;
    if (!el) return;
    const onScroll = () => {
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);

  useLayoutEffect(() => {
    if (atBottom.current) end.current?.scrollIntoView?.({ block: "end" });
  }, [entries]);

  return (
    <div ref={box} role="log" aria-live="polite" aria-label="Conversation" data-testid="assistant-log" className="space-y-3">
      {entries.map((e) => {
        switch (e.type) {
          case "message":
            return <Message key={e.key} entry={e} />;
          case "tool":
            return <ToolCallCard key={e.key} name={e.name} args={e.args} state={e.state} result={e.result} unfinished={e.unfinished} />;
          case "card":
            return (
              <ConfirmationCardView
                key={e.key}
                card={e.card}
                status={e.status}
                busy={deciding.has(e.card.id)}
                onDecide={(confirm) => onDecide(e.card, confirm)}
              />
            );
          case "error":
            return (
              <div
                key={e.key}
                role="alert"
                data-testid="assistant-error"
                data-code={e.code}
                className="flex items-start gap-2 rounded-lg border border-red-200 bg-red-50/60 px-3 py-2 text-sm text-red-800 dark:border-red-500/20 dark:bg-red-500/5 dark:text-red-300"
              >
                <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
                <span className="break-words">{e.message}</span>
              </div>
            );
        }
      })}
      <div ref={end} />
    </div>
  );
}
