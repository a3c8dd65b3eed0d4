import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useRealtime } from "@/hooks/use-realtime";
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
});
