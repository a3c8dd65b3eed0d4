"use client";
// The one real-time hook: WebSocket first, SSE after repeated failures, backoff reconnects, and a
// re-sync callback after every reconnect (and on a server `resync` message).
import { useEffect, useRef, useState } from "react";
import { leaveDeletedAccount } from "@/lib/account-deleted";
import { api } from "@/lib/api";
import { authClient } from "@/lib/auth-client";
import { DEFAULT_REALTIME_URL, RealtimeClient, realtimeUrls, type ConnectionStatus, type Transport } from "@/lib/realtime";
import type { RealtimeMessage } from "@/lib/types";

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
        setStatus(s);
        setTransport(t);
      },
    });
    client.start();
    const online = () => client.reconnectNow();
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      client.stop();
    };
  }, [url, enabled]);

  return { status, transport };
}
