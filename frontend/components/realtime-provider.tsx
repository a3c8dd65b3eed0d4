"use client";
// One connection per tab, shared by the task list and the notification bell.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef } from "react";
import { useRealtime } from "@/hooks/use-realtime";
import type { ConnectionStatus, Transport } from "@/lib/realtime";
import type { RealtimeMessage } from "@/lib/types";

type Listener = (msg: RealtimeMessage) => void;
type ResyncListener = () => void;

interface Ctx {
  status: ConnectionStatus;
  transport: Transport;
  subscribe: (l: Listener) => () => void;
  onResync: (l: ResyncListener) => () => void;
}

const RealtimeContext = createContext<Ctx | null>(null);

export function RealtimeProvider({ url, children }: { url: string; children: React.ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const resyncers = useRef(new Set<ResyncListener>());
  const onMessage = useCallback((msg: RealtimeMessage) => listeners.current.forEach((l) => l(msg)), []);
  const onResync = useCallback(() => resyncers.current.forEach((l) => l()), []);
  const { status, transport } = useRealtime({ onMessage, onResync, url });
  const subscribe = useCallback((l: Listener) => {
    listeners.current.add(l);
    return () => void listeners.current.delete(l);
  }, []);
  const addResync = useCallback((l: ResyncListener) => {
    resyncers.current.add(l);
    return () => void resyncers.current.delete(l);
  }, []);
  const value = useMemo<Ctx>(
    () => ({ status, transport, subscribe, onResync: addResync }),
    [status, transport, subscribe, addResync],
  );
  return <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>;
}

export function useRealtimeStatus() {
  const ctx = useContext(RealtimeContext);
  return { status: ctx?.status ?? "connecting", transport: ctx?.transport ?? "ws" };
}

/** Subscribes to pushes and re-sync requests for the lifetime of the calling component. */
export function useRealtimeEvents(onMessage: Listener, onResync?: ResyncListener) {
  const ctx = useContext(RealtimeContext);
  const ref = useRef({ onMessage, onResync });
  useEffect(() => {
    ref.current = { onMessage, onResync };
  });
  const subscribe = ctx?.subscribe;
  const resync = ctx?.onResync;
  useEffect(() => {
    if (!subscribe || !resync) return;
    const a = subscribe((m) => ref.current.onMessage(m));
    const b = resync(() => ref.current.onResync?.());
    return () => {
      a();
      b();
    };
  }, [subscribe, resync]);
}
