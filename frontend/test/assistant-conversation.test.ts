import { describe, expect, it } from "vitest";
import { conversationReducer, emptyConversation, fromItems, type Conversation, type ConversationAction, type Entry } from "@/lib/assistant/conversation";
import type { Item } from "@/lib/assistant/types";

const T = "thread-1";
const user = (id: string, text: string): Item => ({ id, thread_id: T, kind: "user_message", content: { text } });
const assistant = (id: string, text: string, calls: [string, string, string][] = []): Item => ({
  id,
  thread_id: T,
  kind: "assistant_message",
  content: { text, reasoning_content: null, tool_calls: calls.map(([cid, name, args]) => ({ id: cid, type: "function", function: { name, arguments: args } })) },
});
const toolResult = (id: string, callId: string, name: string, result: unknown): Item => ({
  id,
  thread_id: T,
  kind: "tool_result",
  content: { tool_call_id: callId, name, arguments: "{}", result },
});
const card = (id: string, taskTitle: string) => ({
  status: "confirmation_required",
  message: "Nothing was deleted.",
  confirmation: { id, action: "delete_task", task: { id: "task-1", title: taskTitle, due_local: "Fri 2026-11-27 17:00" } },
});

const run = (actions: ConversationAction[], from: Conversation = emptyConversation) => actions.reduce(conversationReducer, from);
const ev = (name: string, data: unknown): ConversationAction => ({ type: "event", name, data });
const shape = (entries: Entry[]) =>
  entries.map((e) =>
    e.type === "message"
      ? `${e.role}:${e.text}${e.streaming ? "…" : ""}`
      : e.type === "tool"
        ? `tool:${e.name}:${e.state}`
        : e.type === "card"
          ? `card:${e.card.id}:${e.status}`
          : `error:${e.code}`,
  );

describe("a streamed answer", () => {
  it("shows the user's message at once, streams deltas, then tool cards and the final text", () => {
    let s = run([{ type: "local_user", key: "local-1", text: "add milk" }]);
    expect(s.streaming).toBe(true);
    expect(shape(s.entries)).toEqual(["user:add milk"]);
    s = run(
      [
        ev("item.added", user("01-u", "add milk")),
        ev("item.added", { id: "02-a", thread_id: T, kind: "assistant_message" }),
      ],
      s,
    );
    // The optimistic copy became the stored message; the answer is under way.
    expect(s.entries.map((e) => e.key)).toEqual(["01-u", "02-a"]);
    expect(shape(s.entries)).toEqual(["user:add milk", "assistant:…"]);
    s = run([ev("item.delta", { item_id: "02-a", delta: "On " }), ev("item.delta", { item_id: "02-a", delta: "it" })], s);
    expect(shape(s.entries)).toEqual(["user:add milk", "assistant:On it…"]);
    s = run(
      [
        ev("item.done", assistant("02-a", "On it", [["call_0", "add_task", '{"title":"Buy milk"}']])),
        ev("tool_call.started", { item_id: "02-a", tool_call_id: "call_0", name: "add_task", arguments: '{"title":"Buy milk"}' }),
      ],
      s,
    );
    expect(shape(s.entries)).toEqual(["user:add milk", "assistant:On it", "tool:add_task:running"]);
    s = run(
      [
        ev("tool_call.finished", toolResult("03-r", "call_0", "add_task", { created: { title: "Buy milk" } })),
        ev("item.added", { id: "04-a", thread_id: T, kind: "assistant_message" }),
        ev("item.delta", { item_id: "04-a", delta: "Added." }),
        ev("item.done", assistant("04-a", "Added.")),
        ev("done", { thread_id: T }),
      ],
      s,
    );
    expect(s.streaming).toBe(false);
    expect(shape(s.entries)).toEqual(["user:add milk", "assistant:On it", "tool:add_task:finished", "assistant:Added."]);
  });

  it("marks a tool that returned an error as failed", () => {
    const s = run([
      ev("item.done", assistant("02-a", "", [["c", "add_task", "{}"]])),
      ev("tool_call.finished", toolResult("03-r", "c", "add_task", { error: { code: "invalid_date", message: "bad" } })),
    ]);
    expect(shape(s.entries)).toEqual(["assistant:", "tool:add_task:failed"]);
  });

  it("keeps calls apart when a provider reuses call ids in later rounds", () => {
    const s = run([
      ev("item.done", assistant("02-a", "", [["call_0", "find_tasks", "{}"]])),
      ev("tool_call.finished", toolResult("03-r", "call_0", "find_tasks", { tasks: [] })),
      ev("item.done", assistant("04-a", "", [["call_0", "list_tasks", "{}"]])),
      ev("tool_call.started", { item_id: "04-a", tool_call_id: "call_0", name: "list_tasks", arguments: "{}" }),
    ]);
    expect(shape(s.entries)).toEqual(["assistant:", "tool:find_tasks:finished", "assistant:", "tool:list_tasks:running"]);
  });

  it("puts a confirmation card right after the call that asked for it", () => {
    const s = run([
      ev("item.done", assistant("02-a", "", [["c1", "delete_task", '{"id":"task-1"}']])),
      ev("tool_call.started", { item_id: "02-a", tool_call_id: "c1", name: "delete_task", arguments: '{"id":"task-1"}' }),
      ev("tool_call.finished", toolResult("03-r", "c1", "delete_task", card("card-1", "Buy milk"))),
      ev("item.done", assistant("04-a", "Please confirm.")),
    ]);
    expect(shape(s.entries)).toEqual(["assistant:", "tool:delete_task:finished", "card:card-1:pending", "assistant:Please confirm."]);
    const c = s.entries[2] as Extract<Entry, { type: "card" }>;
    expect(c.card.task?.title).toBe("Buy milk");
    const decided = conversationReducer(s, { type: "decided", id: "card-1", status: "cancelled" });
    expect(shape(decided.entries)[2]).toBe("card:card-1:cancelled");
  });

  it("shows a provider failure once, whether it came as an item or only as an event", () => {
    const withItem = run([
      ev("item.added", { id: "05-e", thread_id: T, kind: "error", content: { code: "provider_timeout", message: "the model did not answer in time" } }),
      ev("error", { error: { code: "provider_timeout", message: "the model did not answer in time" } }),
    ]);
    expect(shape(withItem.entries)).toEqual(["error:provider_timeout"]);
    expect(withItem.streaming).toBe(false);
    const eventOnly = run([ev("error", { error: { code: "internal_error", message: "the thread could not be loaded" } })]);
    expect(shape(eventOnly.entries)).toEqual(["error:internal_error"]);
  });

  it("says so when the connection drops before the answer ends", () => {
    const s = run([
      ev("item.added", { id: "02-a", thread_id: T, kind: "assistant_message" }),
      ev("item.delta", { item_id: "02-a", delta: "Half" }),
      { type: "stream_end", interrupted: true },
    ]);
    expect(shape(s.entries)).toEqual(["assistant:Half", "error:stream_interrupted"]);
  });

  it("takes a refused message back", () => {
    const s = run([{ type: "local_user", key: "local-1", text: "hi" }, { type: "drop_local", key: "local-1" }]);
    expect(s.entries).toEqual([]);
    expect(s.streaming).toBe(false);
  });
});

describe("a reloaded thread", () => {
  it("rebuilds messages, tool cards and cards, showing the recorded decision", () => {
    const items: Item[] = [
      // Pages may arrive newest first: order comes from the (time-ordered) ids.
      { id: "06-c", thread_id: T, kind: "confirmation", content: { confirmation_id: "card-1", action: "delete_task", task_id: "task-1", status: "confirmed" } },
      assistant("05-a", "Please confirm."),
      toolResult("04-r", "c1", "delete_task", card("card-1", "Buy milk")),
      assistant("03-a", "", [["c1", "delete_task", '{"id":"task-1"}']]),
      user("01-u", "delete buy milk"),
      user("01-u", "delete buy milk"),
    ];
    expect(shape(fromItems(items))).toEqual([
      "user:delete buy milk",
      "assistant:",
      "tool:delete_task:finished",
      "card:card-1:confirmed",
      "assistant:Please confirm.",
    ]);
  });

  it("accepts the bulk card shape and an expiry", () => {
    const result = {
      status: "confirmation_required",
      confirmation: { id: "card-2", action: "complete_tasks", tasks: [{ id: "a", title: "A" }, { id: "b", title: "B" }], expires_at: "2026-01-01T00:15:00Z" },
    };
    const entries = fromItems([assistant("01-a", "", [["c", "complete_tasks", "{}"]]), toolResult("02-r", "c", "complete_tasks", result)]);
    const c = entries[2] as Extract<Entry, { type: "card" }>;
    expect(c.card.tasks).toHaveLength(2);
    expect(c.card.expires_at).toBe("2026-01-01T00:15:00Z");
  });

  it("shows calls that never got a result as not finished", () => {
    const entries = fromItems([user("01-u", "x"), assistant("02-a", "", [["c", "get_stats", "{}"]])]);
    expect(entries[2]).toMatchObject({ type: "tool", state: "failed", unfinished: true });
  });
});
