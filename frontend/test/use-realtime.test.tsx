import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { LIVE_QUESTION, useRealtime } from "@/hooks/use-realtime";
import { FakeSocket, reset } from "./fakes";

describe("useRealtime", () => {
  beforeEach(() => {
    reset();
    vi.useFakeTimers();
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(JSON.stringify({ ticket: "abc", expires_in: 60 }), { status: 200 })),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("connects with a ticket from the app, reports status, forwards messages and re-syncs after a reconnect", async () => {
    const onMessage = vi.fn();
    const onResync = vi.fn();
    const { result, unmount } = renderHook(() => useRealtime({ onMessage, onResync, url: "ws://h:8001" }));
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(fetch).toHaveBeenCalledWith("/api/realtime/ticket", expect.objectContaining({ method: "POST" }));
    expect(FakeSocket.all[0]!.url).toBe("ws://h:8001/ws?token=abc");
    act(() => FakeSocket.all[0]!.open());
    expect(result.current.status).toBe("open");
    expect(onResync).not.toHaveBeenCalled();
    act(() => FakeSocket.all[0]!.send({ type: "task.created", task_id: "t", version: 1, event_id: "e", task: {} }));
    expect(onMessage).toHaveBeenCalledTimes(1);
    act(() => FakeSocket.all[0]!.send({ type: "resync" }));
    expect(onResync).toHaveBeenCalledTimes(1);
    act(() => FakeSocket.all[0]!.fail());
    expect(result.current.status).toBe("reconnecting");
    await act(() => vi.advanceTimersByTimeAsync(2000));
    act(() => FakeSocket.all[1]!.open());
    expect(onResync).toHaveBeenCalledTimes(2);
    unmount();
    expect(FakeSocket.all[1]!.closed).toBe(true);
  });

  it("tells the service worker whether its connection is up, so a reminder it cannot show as a toast is shown by the worker", async () => {
    const worker = new EventTarget();
    // jsdom has no service worker container.
    Object.defineProperty(navigator, "serviceWorker", { value: worker, configurable: true });
    onTestFinished(() => void delete (navigator as { serviceWorker?: unknown }).serviceWorker);
    const ask = () => {
      const port = { postMessage: vi.fn() };
      worker.dispatchEvent(Object.assign(new Event("message"), { data: { type: LIVE_QUESTION }, ports: [port] }));
      return port.postMessage.mock.calls.map(([answer]) => answer);
    };
    const { unmount } = renderHook(() => useRealtime({ onMessage: vi.fn(), onResync: vi.fn(), url: "ws://h:8001" }));
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(ask()).toEqual([{ live: false }]);
    act(() => FakeSocket.all[0]!.open());
    expect(ask()).toEqual([{ live: true }]);
    act(() => FakeSocket.all[0]!.fail());
    expect(ask()).toEqual([{ live: false }]);
    unmount();
    expect(ask()).toEqual([]);
  });
});
