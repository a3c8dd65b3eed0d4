// Browser-side calls to the assistant routes (forwarded by app/api/assistant).
import { ApiError, request } from "../api";
import type { ApiErrorBody } from "../types";
import { createSseParser } from "./sse";
import type { AgentToken, AssistantStatus, ConfirmationCard, Decision, IssuedAgentToken, Item, Thread } from "./types";

interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/** How many pages of a thread's items are read at most (200 items a page). */
const MAX_ITEM_PAGES = 10;

export const assistantApi = {
  status: () => request<AssistantStatus>("/api/assistant/status"),
  threads: (cursor?: string | null) =>
    request<Page<Thread>>(`/api/assistant/threads?limit=30${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
  createThread: (timezone: string) =>
    request<Thread>("/api/assistant/threads", { method: "POST", body: JSON.stringify({ timezone }) }),
  deleteThread: (id: string) => request<void>(`/api/assistant/threads/${encodeURIComponent(id)}`, { method: "DELETE" }),
  /** All of a thread's items in order. Pages are merged by id, so the order the server pages in
   * (older or newer first) does not matter. */
  async items(threadId: string): Promise<Item[]> {
    const all: Item[] = [];
    let cursor: string | null | undefined = null;
    for (let page = 0; page < MAX_ITEM_PAGES; page++) {
      const q: string = `limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res: Page<Item> = await request<Page<Item>>(`/api/assistant/threads/${encodeURIComponent(threadId)}/items?${q}`);
      all.push(...res.items);
      cursor = res.next_cursor;
      if (!cursor || !res.items.length) break;
    }
    return all;
  },
  /** A 7-day token for an external agent to use /mcp as this user (shown once); registered
   * first, so it can be listed and revoked. No label: "Agent". */
  mcpToken: (label?: string) =>
    request<IssuedAgentToken>("/api/mcp/token", { method: "POST", body: JSON.stringify(label ? { label } : {}) }),
  /** The user's unexpired agent tokens, active and revoked, newest first. */
  agentTokens: () => request<{ items: AgentToken[] }>("/api/agent-tokens").then((r) => r.items),
  revokeAgentToken: (id: string) => request<void>(`/api/agent-tokens/${encodeURIComponent(id)}`, { method: "DELETE" }),
  /** Revokes every agent token of the user; how many were still active. */
  revokeAllAgentTokens: () => request<{ revoked: number }>("/api/agent-tokens", { method: "DELETE" }).then((r) => r.revoked),
  decide: (id: string, confirm: boolean) =>
    request<Decision>(`/api/assistant/confirmations/${encodeURIComponent(id)}`, {
      method: "POST",
      body: JSON.stringify({ confirm }),
    }),
  /** Cards waiting for the user, including those asked for by external agents; empty when the
   * backend has no such list yet. */
  pending: () => request<{ items?: ConfirmationCard[] }>("/api/assistant/confirmations").then((r) => r.items ?? []),
};

export interface StreamOutcome {
  /** The turn ended with `done` or `error` (rather than a dropped connection). */
  finished: boolean;
}

/** Posts a message and calls `onEvent` for every server-sent event of the answer as it
 * arrives. Refusals (429, 503, 404 …) throw an `ApiError` whose `details.retryAfter` carries
 * the Retry-After header. */
export async function streamMessage(
  threadId: string,
  body: { text: string; timezone: string },
  onEvent: (name: string, data: unknown) => void,
  signal?: AbortSignal,
): Promise<StreamOutcome> {
  let res: Response;
  try {
    res = await fetch(`/api/assistant/threads/${encodeURIComponent(threadId)}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      cache: "no-store",
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, "network_error", "Could not reach the server. Check your connection.");
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => "");
    let err: ApiErrorBody["error"] | undefined;
    try {
      err = (JSON.parse(text) as ApiErrorBody).error;
    } catch {
      err = undefined;
    }
    const details = { ...(err?.details && typeof err.details === "object" ? err.details : {}), retryAfter: res.headers.get("retry-after") };
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? res.statusText, details);
  }
  let finished = false;
  const parser = createSseParser(({ event, data }) => {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // not one of the assistant's events
    }
    if (event === "done" || event === "error") finished = true;
    onEvent(event, parsed);
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } catch (e) {
    if (signal?.aborted) throw e;
    // A dropped connection: reported through `finished`.
  } finally {
    parser.end();
  }
  return { finished };
}
