"use client";
// The user's conversations, most recent first: open one, start one, delete one (the panel asks
// first).
import { MessageSquarePlus, Trash2 } from "lucide-react";
import type { AssistantState } from "@/hooks/use-assistant";
import type { Thread } from "@/lib/assistant/types";
import { relativeTime } from "@/lib/datetime";
import { cn } from "@/lib/cn";
import { Button, IconButton } from "../ui";
import { AgentAccess } from "./agent-access";

export function ThreadList({ a, onOpen, onDelete }: { a: AssistantState; onOpen: (id: string | null) => void; onDelete: (t: Thread) => void }) {
  return (
    <div className="p-3">
      <Button variant="secondary" className="w-full" data-testid="assistant-new-thread-list" onClick={() => onOpen(null)}>
        <MessageSquarePlus className="size-4" aria-hidden /> New conversation
      </Button>
      {a.threadsState === "error" && <p className="mt-4 text-center text-sm text-red-600 dark:text-red-400">Could not load your conversations.</p>}
      {a.threadsState !== "error" && !a.threads.length && (
        <p className="mt-6 text-center text-sm text-zinc-500 dark:text-zinc-400">{a.threadsState === "loading" ? "Loading…" : "No conversations yet."}</p>
      )}
      <ul className="mt-3 space-y-1" aria-label="Conversations">
        {a.threads.map((t) => (
          <li
            key={t.id}
            data-testid="assistant-thread"
            data-thread-id={t.id}
            className={cn(
              "group flex items-center gap-1 rounded-lg pr-1 transition",
              t.id === a.threadId ? "bg-brand-50 dark:bg-brand-500/10" : "hover:bg-zinc-100 dark:hover:bg-zinc-800/60",
            )}
          >
            <button
              type="button"
              onClick={() => onOpen(t.id)}
              aria-current={t.id === a.threadId ? "true" : undefined}
              className="min-w-0 flex-1 px-3 py-2 text-left"
            >
              <span className="block truncate text-sm font-medium">{t.title || "New conversation"}</span>
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">{relativeTime(t.updated_at)}</span>
            </button>
            <IconButton label={`Delete the conversation “${t.title || "New conversation"}”`} data-testid="assistant-thread-delete" onClick={() => onDelete(t)}>
              <Trash2 className="size-4" aria-hidden />
            </IconButton>
          </li>
        ))}
      </ul>
      {a.hasMoreThreads && (
        <div className="mt-3 text-center">
          <Button size="sm" variant="ghost" loading={a.threadsState === "loading"} onClick={a.loadMoreThreads}>
            Load more
          </Button>
        </div>
      )}
      <AgentAccess />
    </div>
  );
}
