"use client";
// The one real-time hook: WebSocket first, SSE after repeated failures, backoff reconnects, and a
// re-sync callback after every reconnect (and on a server `resync` message).
import { useEffect, useRef, useState } from "react";
import { leaveDeletedAccount } from "@/lib/account-deleted";
import { api } from "@/lib/api";
import { authClient } from "@/lib/auth-client";
import { DEFAULT_REALTIME_URL, RealtimeClient, realtimeUrls, type ConnectionStatus, type Transport } from "@/lib/realtime";
import type { RealtimeMessage } from "@/lib/types";

/** What the service worker asks a page before it shows a pushed reminder (public/sw.js). */
export const LIVE_QUESTION = "taskfleet:live?";

export interface UseRealtimeOptions {
  onMessage: (msg: RealtimeMessage) => void;
  onResync: () => void;
  /** The server's REALTIME_URL (the app layout passes it); a path means this page's host. */
  url?: string;
  enabled?: boolean;
}

export function useRealtime({ onMessage, onResync, url = DEFAULT_REALTIME_URL, enabled = true }: UseRealtimeOptions) {
  const [status, setStatus] = useState<ConnectionStatus>("connecting");
  const [transport, setTransport] = useState<Transport>("ws");
  const handlers = useRef({ onMessage, onResync });
  useEffect(() => {
    handlers.current = { onMessage, onResync };
  });

  useEffect(() => {
    if (!enabled) return;
    const { wsUrl, sseUrl } = realtimeUrls(url, window.location.origin);
    /** Whether the connection is up now: what this page answers the service worker. */
    let live = false;
    const client = new RealtimeClient({
      wsUrl,
      sseUrl,
      getTicket: async () => (await api.ticket()).ticket,
      onMessage: (msg) => {
        if (msg.type === "resync") handlers.current.onResync();
        else handlers.current.onMessage(msg);
      },
      onAccountDeleted: () =>
        void leaveDeletedAccount({
          hasSession: async () => {
            const { data, error } = await authClient.getSession();
            if (error) throw error;
            return !!data;
          },
          go: (to) => window.location.assign(to),
        }),
      onOpen: ({ reconnected }) => {
        if (reconnected) handlers.current.onResync();
      },
      onStatus: (s, t) => {
        live = s === "open";
        setStatus(s);
        setTransport(t);
      },
    });
    client.start();
    const online = () => client.reconnectNow();
    window.addEventListener("online", online);
    // The service worker asks before it shows a pushed reminder: a page in front whose connection
    // is up shows it as a toast, so the worker shows nothing (public/sw.js).
    const worker = typeof navigator !== "undefined" ? navigator.serviceWorker : undefined;
    const answer = (event: MessageEvent) => {
      if ((event.data as { type?: unknown } | null)?.type === LIVE_QUESTION) event.ports[0]?.postMessage({ live });
    };
    worker?.addEventListener("message", answer);
    worker?.startMessages?.();
    return () => {
      window.removeEventListener("online", online);
      worker?.removeEventListener("message", answer);
      client.stop();
    };
  }, [url, enabled]);

  return { status, transport };
}
