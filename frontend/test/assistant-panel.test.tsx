import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createRef } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AssistantPanel } from "@/components/assistant/assistant-panel";

type Handler = (init: RequestInit | undefined) => Response | Promise<Response>;

/** A fake of the app's assistant routes: "METHOD path" → handler; anything else fails the test. */
function routes(table: Record<string, Handler>) {
  const calls: string[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://app");
    const key = `${init?.method ?? "GET"} ${url.pathname}`;
    calls.push(key);
    const handler = table[key];
    if (!handler) throw new Error(`unexpected request ${key}`);
    return handler(init);
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** An event stream the test feeds by hand, to see the UI between deltas. */
function eventStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }),
    send: (event: string, data: unknown) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
    close: () => controller.close(),
  };
}

const thread = { id: "th-1", title: "", timezone: "Europe/Berlin", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" };

function renderPanel() {
  const toggle = createRef<HTMLElement>();
  return render(<AssistantPanel open onClose={() => {}} returnFocusTo={toggle} />);
}

describe("AssistantPanel", () => {
  beforeEach(() => {
    Element.prototype.scrollIntoView = vi.fn();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("says the assistant is off when no provider is configured, and sends nothing", async () => {
    const calls = routes({
      "GET /api/assistant/status": () => json({ enabled: false }),
      "GET /api/assistant/confirmations": () => json({ items: [] }),
      "GET /api/agent-tokens": () => json({ items: [] }),
    });
    renderPanel();
    const off = await screen.findByTestId("assistant-disabled");
    expect(off.textContent).toContain("The assistant is off — no model provider is configured");
    expect(screen.queryByTestId("assistant-input")).toBeNull();
    expect(screen.queryByTestId("assistant-send")).toBeNull();
    await waitFor(() => expect(calls).toContain("GET /api/assistant/confirmations"));
    // Agent tokens can still be made, listed and revoked.
    await waitFor(() => expect(calls).toContain("GET /api/agent-tokens"));
    expect(screen.getByTestId("agent-access")).toBeTruthy();
    // Only reads: no thread is made and no message is sent.
    expect(calls.every((c) => c.startsWith("GET "))).toBe(true);
    expect(calls.some((c) => c.includes("/threads"))).toBe(false);
  });

  it("still shows cards that connected agents wait on while the assistant is off", async () => {
    routes({
      "GET /api/assistant/status": () => json({ enabled: false }),
      "GET /api/agent-tokens": () => json({ items: [] }),
      "GET /api/assistant/confirmations": () =>
        json({
          items: [
            {
              id: "card-7",
              action: "delete_tasks",
              source: "mcp",
              thread_id: null,
              expires_at: "2999-01-01T00:00:00Z",
              tasks: [
                { task_id: "a", version: 2, changed: false, task: { id: "a", title: "Old report", priority: "high", tags: ["work"], due_date: null } },
                { task_id: "b", version: 1, changed: true, task: null },
              ],
            },
          ],
        }),
    });
    renderPanel();
    await screen.findByTestId("assistant-disabled");
    const card = await screen.findByTestId("confirmation-card");
    expect(card.textContent).toContain("Delete these 2 tasks?");
    expect(card.textContent).toContain("Asked by a connected agent");
    const tasks = screen.getAllByTestId("confirmation-task").map((t) => t.textContent);
    expect(tasks[0]).toContain("Old report");
    expect(tasks[0]).toContain("high priority · #work");
    expect(tasks[1]).toContain("deleted since");
  });

  it("streams an answer live, shows the tool call and the confirmation card, and sends the decision", async () => {
    const stream = eventStream();
    let sent: unknown = null;
    let decided: unknown = null;
    routes({
      "GET /api/assistant/status": () => json({ enabled: true, model: "scripted" }),
      "GET /api/assistant/threads": () => json({ items: [] }),
      "GET /api/assistant/confirmations": () => json({ items: [] }),
      "POST /api/assistant/threads": () => json(thread, 201),
      "POST /api/assistant/threads/th-1/messages": (init) => {
        sent = JSON.parse(String(init?.body));
        return stream.response;
      },
      "POST /api/assistant/confirmations/card-1": (init) => {
        decided = JSON.parse(String(init?.body));
        return json({ id: "card-1", thread_id: "th-1", action: "delete_task", task_id: "task-1", status: "confirmed" });
      },
    });
    renderPanel();
    const input = await screen.findByTestId("assistant-input");
    fireEvent.change(input, { target: { value: "delete buy milk" } });
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(sent).toMatchObject({ text: "delete buy milk" }));

    await act(async () => {
      stream.send("item.added", { id: "01-u", thread_id: "th-1", kind: "user_message", content: { text: "delete buy milk" } });
      stream.send("item.added", { id: "02-a", thread_id: "th-1", kind: "assistant_message" });
      stream.send("item.done", {
        id: "02-a",
        kind: "assistant_message",
        content: { text: "", tool_calls: [{ id: "c1", type: "function", function: { name: "delete_task", arguments: '{"id":"task-1"}' } }] },
      });
      stream.send("tool_call.started", { item_id: "02-a", tool_call_id: "c1", name: "delete_task", arguments: '{"id":"task-1"}' });
    });
    const card = await screen.findByTestId("tool-call-card");
    expect(card.dataset.tool).toBe("delete_task");
    expect(card.dataset.state).toBe("running");

    await act(async () => {
      stream.send("tool_call.finished", {
        id: "03-r",
        kind: "tool_result",
        content: {
          tool_call_id: "c1",
          name: "delete_task",
          arguments: '{"id":"task-1"}',
          result: { status: "confirmation_required", confirmation: { id: "card-1", action: "delete_task", task: { id: "task-1", title: "<img src=x onerror=alert(1)>Buy milk" } } },
        },
      });
      stream.send("item.added", { id: "04-a", thread_id: "th-1", kind: "assistant_message" });
      stream.send("item.delta", { item_id: "04-a", delta: "Please confirm " });
    });
    await waitFor(() => expect(screen.getByTestId("tool-call-card").dataset.state).toBe("finished"));
    // The delta is on screen before the answer is done.
    const partial = screen.getAllByTestId("assistant-message").find((m) => m.dataset.role === "assistant")!;
    expect(partial.dataset.streaming).toBe("true");
    expect(partial.textContent).toContain("Please confirm");

    await act(async () => {
      stream.send("item.delta", { item_id: "04-a", delta: "the deletion in the card." });
      stream.send("item.done", { id: "04-a", kind: "assistant_message", content: { text: "Please confirm the deletion in the card.", tool_calls: [] } });
      stream.send("done", { thread_id: "th-1" });
      stream.close();
    });
    await waitFor(() => expect(partial.dataset.streaming).toBe("false"));

    // Task text is shown as text: no element is made from it.
    const confirmation = screen.getByTestId("confirmation-card");
    expect(confirmation.textContent).toContain("<img src=x onerror=alert(1)>Buy milk");
    expect(confirmation.querySelector("img")).toBeNull();

    fireEvent.click(screen.getByTestId("confirm-button"));
    await waitFor(() => expect(screen.getByTestId("confirmation-card").dataset.status).toBe("confirmed"));
    expect(decided).toEqual({ confirm: true });
    expect(screen.getByTestId("confirmation-outcome").textContent).toContain("Deleted the task");
    expect(screen.queryByTestId("confirm-button")).toBeNull();
  });

  it("explains a rate limit and keeps the message that was refused", async () => {
    routes({
      "GET /api/assistant/status": () => json({ enabled: true, model: "scripted" }),
      "GET /api/assistant/threads": () => json({ items: [thread], next_cursor: null }),
      "GET /api/assistant/confirmations": () => json({ items: [] }),
      "GET /api/assistant/threads/th-1/items": () => json({ items: [], next_cursor: null }),
      "POST /api/assistant/threads/th-1/messages": () =>
        json({ error: { code: "rate_limited", message: "at most 10 assistant messages per minute" } }, 429, { "retry-after": "60" }),
    });
    renderPanel();
    const input = (await screen.findByTestId("assistant-input")) as HTMLTextAreaElement;
    fireEvent.change(input, { target: { value: "hello" } });
    fireEvent.click(screen.getByTestId("assistant-send"));
    const notice = await screen.findByTestId("assistant-notice");
    expect(notice.textContent).toContain("Try again in 60 s");
    expect(input.value).toBe("hello");
    expect(screen.queryAllByTestId("assistant-message")).toHaveLength(0);
  });

  it("shows cards that wait for the user from outside the conversation", async () => {
    routes({
      "GET /api/assistant/status": () => json({ enabled: true }),
      "GET /api/assistant/threads": () => json({ items: [] }),
      "GET /api/assistant/confirmations": () =>
        json({
          items: [{ id: "card-9", action: "delete_tasks", thread_id: null, source: "mcp", tasks: [{ id: "a", title: "Old report" }, { id: "b", title: "Old slides" }] }],
        }),
      "POST /api/assistant/confirmations/card-9": () => json({ id: "card-9", action: "delete_tasks", status: "cancelled" }),
    });
    renderPanel();
    const waiting = await screen.findByTestId("assistant-waiting");
    expect(waiting.textContent).toContain("Delete these 2 tasks?");
    expect(waiting.textContent).toContain("Old slides");
    fireEvent.click(screen.getByTestId("cancel-button"));
    await waitFor(() => expect(screen.getByTestId("confirmation-card").dataset.status).toBe("cancelled"));
  });

  it("keeps a decision when a list fetched before it still names the card as pending", async () => {
    const card = { id: "card-7", action: "delete_task", thread_id: null, source: "mcp", task: { id: "a", title: "Old report" } };
    const stale: ((r: Response) => void)[] = [];
    let lists = 0;
    routes({
      "GET /api/assistant/status": () => json({ enabled: true }),
      "GET /api/assistant/threads": () => json({ items: [] }),
      // The first list answers at once; the second is held until after the decision.
      "GET /api/assistant/confirmations": () =>
        ++lists === 1 ? json({ items: [card] }) : new Promise<Response>((resolve) => stale.push(resolve)),
      "POST /api/assistant/confirmations/card-7": () => json({ id: "card-7", action: "delete_task", status: "cancelled" }),
    });
    renderPanel();
    await screen.findByTestId("assistant-waiting");
    await waitFor(() => expect(stale).toHaveLength(1));
    fireEvent.click(screen.getByTestId("cancel-button"));
    await waitFor(() => expect(screen.getByTestId("confirmation-card").dataset.status).toBe("cancelled"));
    stale[0]!(json({ items: [card] }));
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.getByTestId("confirmation-card").dataset.status).toBe("cancelled");
    expect(screen.queryByTestId("cancel-button")).toBeNull();
  });
});
