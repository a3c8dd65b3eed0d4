"use client";
// The assistant panel's state: status, threads, the open conversation (folded by
// lib/assistant/conversation), the streaming answer, and the cards waiting for a decision.
// It lives in the app shell, so closing the panel does not drop an answer that is streaming.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { assistantApi, streamMessage } from "@/lib/assistant/api";
import { cardIds, conversationReducer, emptyConversation, type CardStatus } from "@/lib/assistant/conversation";
import { limitMessage } from "@/lib/assistant/format";
import type { AssistantStatus, ConfirmationCard, Thread } from "@/lib/assistant/types";
import { browserTimeZone } from "@/lib/datetime";

export type StatusState = { state: "idle" | "loading" } | { state: "error"; message: string } | ({ state: "ready" } & AssistantStatus);

export interface Notice {
  tone: "error" | "warning";
  text: string;
}

const message = (e: unknown, fallback: string) => (e instanceof Error && e.message ? e.message : fallback);

/** A decision the server refused, as the card's new state. */
function refusal(e: unknown): { status: CardStatus; note?: string } | null {
  if (!(e instanceof ApiError)) return null;
  if (e.status === 404) return { status: "gone" };
  if (e.status === 410 || e.code === "confirmation_expired") return { status: "expired" };
  if (e.status === 412) return { status: "stale" };
  return null;
}

export function useAssistant(active: boolean) {
  const [status, setStatus] = useState<StatusState>({ state: "idle" });
  const [threads, setThreads] = useState<Thread[]>([]);
  const [threadsCursor, setThreadsCursor] = useState<string | null>(null);
  const [threadsState, setThreadsState] = useState<"idle" | "loading" | "ready" | "error">("idle");
  const [threadId, setThreadId] = useState<string | null>(null);
  const [conversation, dispatch] = useReducer(conversationReducer, emptyConversation);
  const [loadingItems, setLoadingItems] = useState(false);
  const [sending, setSending] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [waiting, setWaiting] = useState<{ card: ConfirmationCard; status: CardStatus; note?: string }[]>([]);
  const [deciding, setDeciding] = useState<Set<string>>(new Set());
  const stream = useRef<AbortController | null>(null);
  const itemsRequest = useRef(0);
  const localId = useRef(0);
  const started = useRef(false);
  const [attempt, setAttempt] = useState(0);

  const enabled = status.state === "ready" && status.enabled;

  const loadItems = useCallback(async (id: string) => {
    const request = ++itemsRequest.current;
    setLoadingItems(true);
    try {
      const items = await assistantApi.items(id);
      if (request === itemsRequest.current) dispatch({ type: "load", items });
    } catch (e) {
      if (request === itemsRequest.current) setNotice({ tone: "error", text: message(e, "Could not load this conversation.") });
    } finally {
      if (request === itemsRequest.current) setLoadingItems(false);
    }
  }, []);

  const loadThreads = useCallback(async (more = false, cursor: string | null = null) => {
    setThreadsState("loading");
    try {
      const page = await assistantApi.threads(more ? cursor : null);
      setThreads((old) => {
        if (!more) return page.items;
        const seen = new Set(old.map((t) => t.id));
        return [...old, ...page.items.filter((t) => !seen.has(t.id))];
      });
      setThreadsCursor(page.next_cursor ?? null);
      setThreadsState("ready");
      return page.items;
    } catch {
      setThreadsState("error");
      return null;
    }
  }, []);

  const loadWaiting = useCallback(async () => {
    try {
      const cards = await assistantApi.pending();
      setWaiting((old) => {
        // A card decided here keeps its decision: a list fetched before the decision landed
        // still names it as pending, and must not bring its buttons back.
        const decided = old.filter((w) => w.status !== "pending");
        const ids = new Set(decided.map((w) => w.card.id));
        return [...decided, ...cards.filter((card) => !ids.has(card.id)).map((card) => ({ card, status: "pending" as const }))];
      });
    } catch {
      /* a convenience: the cards also show in their threads */
    }
  }, []);

  // The first time the panel opens: is the assistant on? Then the latest thread.
  useEffect(() => {
    if (!active || started.current) return;
    started.current = true;
    void (async () => {
      setStatus({ state: "loading" });
      let s: AssistantStatus;
      try {
        s = await assistantApi.status();
      } catch (e) {
        started.current = false;
        setStatus({ state: "error", message: message(e, "Could not reach the assistant.") });
        return;
      }
      setStatus({ state: "ready", ...s });
      // Cards asked for by connected agents wait for the user even when the assistant is off.
      if (!s.enabled) return void loadWaiting();
      const [list] = await Promise.all([loadThreads(), loadWaiting()]);
      const latest = list?.[0];
      if (latest) {
        setThreadId(latest.id);
        void loadItems(latest.id);
      }
    })();
  }, [active, attempt, loadItems, loadThreads, loadWaiting]);

  // Reopening the panel refreshes the cards that wait for the user.
  const ready = status.state === "ready";
  useEffect(() => {
    if (!active || !ready) return;
    void loadWaiting();
    // Agents may ask while the panel is open: look again now and then.
    const t = window.setInterval(() => void loadWaiting(), 30_000);
    return () => window.clearInterval(t);
  }, [active, ready, loadWaiting]);

  useEffect(() => () => stream.current?.abort(), []);

  const selectThread = useCallback(
    (id: string | null) => {
      stream.current?.abort();
      stream.current = null;
      setSending(false);
      setNotice(null);
      setThreadId(id);
      itemsRequest.current++;
      dispatch({ type: "clear" });
      if (id) void loadItems(id);
      else setLoadingItems(false);
    },
    [loadItems],
  );

  const send = useCallback(
    async (text: string): Promise<boolean> => {
      const trimmed = text.trim();
      if (!trimmed || sending || !enabled) return false;
      setNotice(null);
      setSending(true);
      const timezone = browserTimeZone();
      const key = `local-${++localId.current}`;
      dispatch({ type: "local_user", key, text: trimmed });
      let id = threadId;
      const controller = new AbortController();
      stream.current?.abort();
      stream.current = controller;
      try {
        if (!id) {
          const thread = await assistantApi.createThread(timezone);
          id = thread.id;
          setThreadId(thread.id);
          setThreads((old) => [thread, ...old.filter((t) => t.id !== thread.id)]);
        }
        const outcome = await streamMessage(
          id,
          { text: trimmed, timezone },
          (name, data) => dispatch({ type: "event", name, data }),
          controller.signal,
        );
        if (controller.signal.aborted) return true;
        dispatch({ type: "stream_end", interrupted: !outcome.finished });
        if (!outcome.finished) void loadItems(id);
        void loadThreads();
        return true;
      } catch (e) {
        if (controller.signal.aborted) return true;
        dispatch({ type: "drop_local", key });
        if (e instanceof ApiError && e.status === 503 && e.code === "assistant_disabled") {
          setStatus({ state: "ready", enabled: false });
        } else if (e instanceof ApiError && e.status === 429) {
          const retry = (e.details as { retryAfter?: string | null } | undefined)?.retryAfter;
          setNotice({ tone: "warning", text: limitMessage(e.code, retry, e.message) });
        } else {
          setNotice({ tone: "error", text: message(e, "The message could not be sent.") });
        }
        return false;
      } finally {
        if (stream.current === controller) {
          stream.current = null;
          setSending(false);
        }
      }
    },
    [enabled, loadItems, loadThreads, sending, threadId],
  );

  const decide = useCallback(
    async (card: ConfirmationCard, confirm: boolean) => {
      setDeciding((s) => new Set(s).add(card.id));
      const mark = (status: CardStatus, note?: string) => {
        dispatch({ type: "decided", id: card.id, status, note });
        setWaiting((ws) => ws.map((w) => (w.card.id === card.id ? { ...w, status, note } : w)));
      };
      try {
        const decision = await assistantApi.decide(card.id, confirm);
        mark(decision.status === "confirmed" ? "confirmed" : decision.status === "expired" ? "expired" : "cancelled");
      } catch (e) {
        const refused = refusal(e);
        if (refused) mark(refused.status, refused.note);
        else if (e instanceof ApiError && e.status === 409) {
          // Decided elsewhere (another tab or device): the thread knows how.
          if (threadId && enabled) void loadItems(threadId);
          void loadWaiting();
          setNotice({ tone: "warning", text: "This card was already decided elsewhere." });
        } else setNotice({ tone: "error", text: message(e, "The decision could not be sent.") });
      } finally {
        setDeciding((s) => {
          const n = new Set(s);
          n.delete(card.id);
          return n;
        });
      }
    },
    [enabled, loadItems, loadWaiting, threadId],
  );

  const removeThread = useCallback(
    async (id: string) => {
      try {
        await assistantApi.deleteThread(id);
      } catch (e) {
        // Already gone (deleted on another device) is what the user wanted.
        const gone = e instanceof ApiError && e.status === 404;
        if (!gone) {
          setNotice({ tone: "error", text: message(e, "Could not delete the conversation.") });
          return false;
        }
      }
      setThreads((old) => old.filter((t) => t.id !== id));
      if (id === threadId) selectThread(null);
      return true;
    },
    [selectThread, threadId],
  );

  const shown = cardIds(conversation.entries);
  return {
    status,
    enabled,
    threads,
    threadsState,
    hasMoreThreads: !!threadsCursor,
    loadMoreThreads: () => void loadThreads(true, threadsCursor),
    threadId,
    thread: threads.find((t) => t.id === threadId) ?? null,
    selectThread,
    removeThread,
    conversation,
    loadingItems,
    sending,
    send,
    notice,
    dismissNotice: () => setNotice(null),
    waiting: waiting.filter((w) => !shown.has(w.card.id)),
    decide,
    deciding,
    retryStatus: () => {
      started.current = false;
      setAttempt((a) => a + 1);
    },
  };
}

export type AssistantState = ReturnType<typeof useAssistant>;
