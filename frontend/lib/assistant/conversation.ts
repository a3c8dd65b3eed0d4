// Folds a thread's stored items and the message stream's events into what the panel shows:
// messages, tool-call cards, confirmation cards and errors. Pure, so the same folding serves a
// reloaded thread and a live answer, and is unit-tested without a browser.
//
// The stream of one answer (`conversation.rs`): `item.added` (the user's message; then per
// model round an empty assistant item) → `item.delta`… → `item.done` (the stored assistant
// item, with its tool calls) → per call `tool_call.started` → `tool_call.finished` (the stored
// tool_result item) → … → `done`, or an `error` item + `error` event.
import { cardTasks, type ConfirmationCard, type Item, type ToolCall } from "./types";

export type ToolState = "running" | "finished" | "failed";
export type CardStatus = "pending" | "confirmed" | "cancelled" | "expired" | "stale" | "gone";

export type Entry =
  | { type: "message"; key: string; role: "user" | "assistant"; text: string; streaming: boolean; local?: boolean }
  | {
      type: "tool";
      key: string;
      callId: string;
      name: string;
      args: string;
      state: ToolState;
      result?: unknown;
      /** Set when the call never got a result (an interrupted turn). */
      unfinished?: boolean;
    }
  | { type: "card"; key: string; card: ConfirmationCard; status: CardStatus; note?: string }
  | { type: "error"; key: string; code: string; message: string };

export interface Conversation {
  entries: Entry[];
  /** An answer is streaming. */
  streaming: boolean;
}

export const emptyConversation: Conversation = { entries: [], streaming: false };

export type ConversationAction =
  | { type: "load"; items: Item[] }
  | { type: "clear" }
  | { type: "local_user"; key: string; text: string }
  | { type: "drop_local"; key: string }
  | { type: "event"; name: string; data: unknown }
  | { type: "stream_end"; interrupted: boolean }
  | { type: "decided"; id: string; status: CardStatus; note?: string };

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Items in thread order (uuid v7 ids sort by time), each once: pages may come either way. */
export function orderItems(items: Item[]): Item[] {
  const byId = new Map<string, Item>();
  for (const item of items) byId.set(item.id, item);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A tool result that asks for the user's decision carries the card. */
export function cardOf(result: unknown): ConfirmationCard | null {
  const r = obj(result);
  if (r.status !== "confirmation_required") return null;
  const c = obj(r.confirmation);
  if (typeof c.id !== "string") return null;
  return { ...(c as unknown as ConfirmationCard), action: str(c.action) || "delete_task" };
}

export const toolFailed = (result: unknown): boolean => "error" in obj(result);

function cardStatus(raw: unknown): CardStatus {
  switch (raw) {
    case "confirmed":
    case "cancelled":
    case "expired":
      return raw;
    default:
      return "pending";
  }
}

function upsertMessage(entries: Entry[], key: string, role: "user" | "assistant", text: string, streaming: boolean): Entry[] {
  const at = entries.findIndex((e) => e.type === "message" && e.key === key);
  const entry: Entry = { type: "message", key, role, text, streaming };
  if (at === -1) return [...entries, entry];
  const next = entries.slice();
  next[at] = entry;
  return next;
}

function addToolCalls(entries: Entry[], itemId: string, calls: ToolCall[]): Entry[] {
  let next = entries;
  for (const call of calls) {
    const key = `${itemId}:${call.id}`;
    if (next.some((e) => e.key === key)) continue;
    next = [...next, { type: "tool", key, callId: call.id, name: call.function?.name ?? "", args: call.function?.arguments ?? "", state: "running" }];
  }
  return next;
}

/** The stored tool_result answers the latest call with its id still waiting. */
function finishTool(entries: Entry[], item: Item): Entry[] {
  const c = obj(item.content);
  const callId = str(c.tool_call_id);
  const result = c.result;
  let next = entries.slice();
  let at = -1;
  for (let i = next.length - 1; i >= 0; i--) {
    const e = next[i]!;
    if (e.type === "tool" && e.callId === callId && e.state === "running") {
      at = i;
      break;
    }
  }
  const done: Entry = {
    type: "tool",
    key: at === -1 ? `result:${item.id}` : next[at]!.key,
    callId,
    name: str(c.name) || (at === -1 ? "" : (next[at] as { name: string }).name),
    args: str(c.arguments) || (at === -1 ? "" : (next[at] as { args: string }).args),
    state: toolFailed(result) ? "failed" : "finished",
    result,
  };
  if (at === -1) next.push(done);
  else next[at] = done;
  const card = cardOf(result);
  if (card && !next.some((e) => e.key === `card:${card.id}`)) {
    const entry: Entry = { type: "card", key: `card:${card.id}`, card, status: cardStatus(card.status) };
    next = [...next.slice(0, at === -1 ? next.length : at + 1), entry, ...next.slice(at === -1 ? next.length : at + 1)];
  }
  return next;
}

function decide(entries: Entry[], id: string, status: CardStatus, note?: string): Entry[] {
  return entries.map((e) => (e.type === "card" && e.card.id === id ? { ...e, status, note } : e));
}

/** Applies one stored item (from the items list, or as the stream delivers it). */
export function foldItem(entries: Entry[], item: Item): Entry[] {
  const c = obj(item.content);
  switch (item.kind) {
    case "user_message": {
      // The optimistic copy shown while sending becomes the stored message.
      const local = entries.findIndex((e) => e.type === "message" && e.local);
      const base = local === -1 ? entries : entries.filter((_, i) => i !== local);
      if (local === -1) return upsertMessage(base, item.id, "user", str(c.text), false);
      const next = base.slice();
      next.splice(local, 0, { type: "message", key: item.id, role: "user", text: str(c.text), streaming: false });
      return next;
    }
    case "assistant_message": {
      const calls = Array.isArray(c.tool_calls) ? (c.tool_calls as ToolCall[]) : [];
      return addToolCalls(upsertMessage(entries, item.id, "assistant", str(c.text), false), item.id, calls);
    }
    case "tool_result":
      return finishTool(entries, item);
    case "confirmation":
      return decide(entries, str(c.confirmation_id), cardStatus(c.status));
    case "error":
      if (entries.some((e) => e.key === item.id)) return entries;
      return [...entries, { type: "error", key: item.id, code: str(c.code) || "error", message: str(c.message) || "Something went wrong." }];
    default:
      return entries;
  }
}

/** A reloaded thread: calls that never got a result belong to a turn that was cut off. */
export function fromItems(items: Item[]): Entry[] {
  const entries = orderItems(items).reduce(foldItem, [] as Entry[]);
  return entries.map((e) => (e.type === "tool" && e.state === "running" ? { ...e, state: "failed", unfinished: true } : e));
}

function applyEvent(state: Conversation, name: string, raw: unknown): Conversation {
  const data = obj(raw);
  switch (name) {
    case "item.added": {
      const item = data as unknown as Item;
      if (typeof item.id !== "string") return state;
      if (item.kind === "assistant_message" && !item.content) {
        return { streaming: true, entries: upsertMessage(state.entries, item.id, "assistant", "", true) };
      }
      return { streaming: true, entries: foldItem(state.entries, item) };
    }
    case "item.delta": {
      const key = str(data.item_id);
      const delta = str(data.delta);
      const at = state.entries.findIndex((e) => e.key === key && e.type === "message");
      const entries = state.entries.slice();
      if (at === -1) entries.push({ type: "message", key, role: "assistant", text: delta, streaming: true });
      else {
        const e = entries[at] as Extract<Entry, { type: "message" }>;
        entries[at] = { ...e, text: e.text + delta, streaming: true };
      }
      return { ...state, entries };
    }
    case "item.done":
      if (typeof data.id !== "string") return state;
      return { ...state, entries: foldItem(state.entries, data as unknown as Item) };
    case "tool_call.started": {
      const key = `${str(data.item_id)}:${str(data.tool_call_id)}`;
      if (state.entries.some((e) => e.key === key)) return state;
      const call: ToolCall = { id: str(data.tool_call_id), function: { name: str(data.name), arguments: str(data.arguments) } };
      return { ...state, entries: addToolCalls(state.entries, str(data.item_id), [call]) };
    }
    case "tool_call.finished":
      if (typeof data.id !== "string") return state;
      return { ...state, entries: finishTool(state.entries, data as unknown as Item) };
    case "error": {
      const error = obj(data.error);
      const code = str(error.code) || "error";
      const last = state.entries[state.entries.length - 1];
      // A stored error item was just delivered by `item.added`; the event only ends the turn.
      if (last?.type === "error" && last.code === code) return { ...endStreaming(state.entries), streaming: false };
      const entry: Entry = { type: "error", key: `error:${state.entries.length}:${code}`, code, message: str(error.message) || "Something went wrong." };
      return { entries: [...endStreaming(state.entries).entries, entry], streaming: false };
    }
    case "done":
      return endStreaming(state.entries);
    default:
      return state;
  }
}

function endStreaming(entries: Entry[]): Conversation {
  return {
    streaming: false,
    entries: entries.map((e) => (e.type === "message" && e.streaming ? { ...e, streaming: false } : e)),
  };
}

export function conversationReducer(state: Conversation, action: ConversationAction): Conversation {
  switch (action.type) {
    case "load":
      return { entries: fromItems(action.items), streaming: false };
    case "clear":
      return emptyConversation;
    case "local_user":
      return {
        streaming: true,
        entries: [...state.entries, { type: "message", key: action.key, role: "user", text: action.text, streaming: false, local: true }],
      };
    case "drop_local":
      return { streaming: false, entries: state.entries.filter((e) => e.key !== action.key) };
    case "event":
      return applyEvent(state, action.name, action.data);
    case "stream_end": {
      if (!action.interrupted) return endStreaming(state.entries);
      const ended = endStreaming(state.entries);
      const entry: Entry = {
        type: "error",
        key: `error:${state.entries.length}:stream_interrupted`,
        code: "stream_interrupted",
        message: "The connection to the assistant was lost before the answer finished.",
      };
      return { ...ended, entries: [...ended.entries, entry] };
    }
    case "decided":
      return { ...state, entries: decide(state.entries, action.id, action.status, action.note) };
  }
}

/** The ids of the cards shown in the conversation (so the "waiting for you" list skips them). */
export const cardIds = (entries: Entry[]): Set<string> =>
  new Set(entries.flatMap((e) => (e.type === "card" ? [e.card.id] : [])));

export { cardTasks };
