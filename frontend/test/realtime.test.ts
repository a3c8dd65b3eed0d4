import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, RealtimeClient, realtimeUrls, type RealtimeOptions } from "@/lib/realtime";
import type { RealtimeMessage } from "@/lib/types";
import { FakeSocket, FakeSource, reset } from "./fakes";

const flush = () => vi.advanceTimersByTimeAsync(0);

function client(over: Partial<RealtimeOptions> = {}) {
  let n = 0;
  const messages: RealtimeMessage[] = [];
  const opens: { transport: string; reconnected: boolean }[] = [];
  const statuses: string[] = [];
  const getTicket = vi.fn(async () => `ticket${++n}`);
  const c = new RealtimeClient({
    wsUrl: "ws://h:8001/ws",
    sseUrl: "http://h:8001/api/sse",
    getTicket,
    onMessage: (m) => messages.push(m),
    onOpen: (o) => opens.push(o),
    onStatus: (s) => statuses.push(s),
    createWebSocket: (u) => new FakeSocket(u),
    createEventSource: (u) => new FakeSource(u),
    random: () => 0.5,
    ...over,
  });
  return { c, messages, opens, statuses, getTicket };
}

beforeEach(() => {
  reset();
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("backoffDelay", () => {
  it("grows exponentially with jitter and is capped", () => {
    expect(backoffDelay(0, 500, 15000, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, 15000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 15000, () => 1)).toBe(4000);
    expect(backoffDelay(20, 500, 15000, () => 1)).toBe(15000);
    expect(backoffDelay(20, 500, 15000, () => 0)).toBe(7500);
  });
});

describe("realtimeUrls", () => {
  it("adds /ws to a bare origin and derives the SSE endpoint", () => {
    expect(realtimeUrls("ws://127.0.0.1:8001")).toEqual({
      wsUrl: "ws://127.0.0.1:8001/ws",
      sseUrl: "http://127.0.0.1:8001/api/sse",
    });
    expect(realtimeUrls("wss://x.example/ws")).toEqual({ wsUrl: "wss://x.example/ws", sseUrl: "https://x.example/api/sse" });
  });

  it("resolves a same-origin path against the page's origin", () => {
    expect(realtimeUrls("/ws", "https://tasks.example")).toEqual({
      wsUrl: "wss://tasks.example/ws",
      sseUrl: "https://tasks.example/api/sse",
    });
    expect(realtimeUrls("/ws", "http://taskfleet.local")).toEqual({
      wsUrl: "ws://taskfleet.local/ws",
      sseUrl: "http://taskfleet.local/api/sse",
    });
    expect(() => realtimeUrls("/ws")).toThrow();
  });
});

describe("RealtimeClient", () => {
  it("connects over WebSocket with a single-use ticket, never a user id", async () => {
    const { c, getTicket } = client();
    c.start();
    await flush();
    expect(getTicket).toHaveBeenCalledTimes(1);
    expect(FakeSocket.all[0]!.url).toBe("ws://h:8001/ws?token=ticket1");
  });

  it("delivers parsed messages and ignores garbage", async () => {
    const { c, messages } = client();
    c.start();
    await flush();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.send({ type: "task.created", task_id: "a", version: 1, event_id: "e1", task: {} });
    ws.onmessage?.({ data: "not json" });
    ws.onmessage?.({ data: JSON.stringify({ no: "type" }) });
    expect(messages).toHaveLength(1);
    expect(messages[0]!.type).toBe("task.created");
  });

  it("stops for good when the account was deleted, and says so instead of delivering it", async () => {
    const onAccountDeleted = vi.fn();
    const { c, messages, getTicket } = client({ onAccountDeleted });
    c.start();
    await flush();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.send({ type: "account.deleted" });
    expect(onAccountDeleted).toHaveBeenCalledTimes(1);
    expect(messages).toHaveLength(0);
    // The server's close that follows starts no reconnect.
    ws.onclose?.({ code: 1000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(getTicket).toHaveBeenCalledTimes(1);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("reconnects with backoff after a drop, with a fresh ticket, and asks for a re-sync", async () => {
    const { c, opens, getTicket } = client();
    c.start();
    await flush();
    FakeSocket.all[0]!.open();
    expect(opens).toEqual([{ transport: "ws", reconnected: false }]);
    FakeSocket.all[0]!.fail();
    await vi.advanceTimersByTimeAsync(374); // backoffDelay(0) with random 0.5 = 375
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(getTicket).toHaveBeenCalledTimes(2);
    expect(FakeSocket.all[1]!.url).toContain("token=ticket2");
    FakeSocket.all[1]!.open();
    expect(opens[1]).toEqual({ transport: "ws", reconnected: true });
  });

  it("backs off longer after each consecutive failure and resets after a success", async () => {
    const { c } = client({ wsFailuresBeforeFallback: 100 });
    c.start();
    await flush();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.fail(); // attempt 0 → 375 ms
    await vi.advanceTimersByTimeAsync(375);
    FakeSocket.all[1]!.fail(); // attempt 1 → 750 ms
    await vi.advanceTimersByTimeAsync(749);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2]!.fail(); // attempt 2 → 1500 ms
    await vi.advanceTimersByTimeAsync(1499);
    expect(FakeSocket.all).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    FakeSocket.all[3]!.open();
    FakeSocket.all[3]!.fail(); // success reset the attempt counter → 375 ms again
    await vi.advanceTimersByTimeAsync(375);
    expect(FakeSocket.all).toHaveLength(5);
  });

  it("falls back to SSE after repeated WebSocket failures and re-syncs when SSE opens", async () => {
    const { c, opens } = client({ wsFailuresBeforeFallback: 3 });
    c.start();
    for (let i = 0; i < 3; i++) {
      await flush();
      FakeSocket.all[i]!.fail();
      await vi.advanceTimersByTimeAsync(20_000);
    }
    expect(FakeSocket.all).toHaveLength(3);
    expect(FakeSource.all).toHaveLength(1);
    expect(FakeSource.all[0]!.url).toBe("http://h:8001/api/sse?token=ticket4");
    expect(c.currentTransport).toBe("sse");
    FakeSource.all[0]!.open();
    expect(opens).toEqual([{ transport: "sse", reconnected: false }]);
  });

  it("a WebSocket that was open and dropped does not count towards the fallback", async () => {
    const { c } = client({ wsFailuresBeforeFallback: 2 });
    c.start();
    for (let i = 0; i < 4; i++) {
      await flush();
      FakeSocket.all[i]!.open();
      FakeSocket.all[i]!.fail();
      await vi.advanceTimersByTimeAsync(20_000);
    }
    expect(FakeSource.all).toHaveLength(0);
    expect(c.currentTransport).toBe("ws");
  });

  it("SSE errors close the EventSource and reconnect with a new ticket (tickets are single use)", async () => {
    const { c, opens, messages } = client({ wsFailuresBeforeFallback: 1 });
    c.start();
    await flush();
    FakeSocket.all[0]!.fail();
    await vi.advanceTimersByTimeAsync(20_000);
    const es = FakeSource.all[0]!;
    es.open();
    es.send({ type: "task.updated", task_id: "a", version: 2, event_id: "e2", task: {} }, "e2");
    expect(messages).toHaveLength(1);
    expect(c.lastSeenEventId).toBe("e2");
    es.fail();
    expect(es.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(FakeSource.all).toHaveLength(2);
    expect(FakeSource.all[1]!.url).toContain("token=ticket3");
    FakeSource.all[1]!.open();
    expect(opens.at(-1)).toEqual({ transport: "sse", reconnected: true });
  });

  it("retries when fetching a ticket fails", async () => {
    let calls = 0;
    const { c } = client({
      getTicket: async () => {
        calls++;
        if (calls === 1) throw new Error("401");
        return "t";
      },
    });
    c.start();
    await flush();
    expect(FakeSocket.all).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("stop() closes the socket and cancels pending reconnects; late events are ignored", async () => {
    const { c, messages } = client();
    c.start();
    await flush();
    const ws = FakeSocket.all[0]!;
    ws.open();
    const onmessage = ws.onmessage;
    c.stop();
    expect(ws.closed).toBe(true);
    onmessage?.({ data: JSON.stringify({ type: "task.created" }) });
    expect(messages).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("reconnectNow() skips the pending backoff", async () => {
    const { c } = client({ baseDelayMs: 10_000, maxDelayMs: 60_000 });
    c.start();
    await flush();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.fail();
    c.reconnectNow();
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
  });
});
