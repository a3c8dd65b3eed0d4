// The real-time connection, independent of React so its reconnect/fallback logic is unit-tested.
//
// - Connects over WebSocket with a single-use ticket from the app (never a bare user id).
// - After `wsFailuresBeforeFallback` consecutive WebSocket failures it falls back to SSE
//   (EventSource), and keeps using SSE until the page is reloaded.
// - Every drop schedules a reconnect with exponential backoff and jitter (capped), and every
//   successful (re)connect calls `onOpen(reconnected)` so the caller re-syncs from the API:
//   a push lost while disconnected never leaves a stale view.
import type { AccountDeletedPush, RealtimeMessage } from "./types";

export type Transport = "ws" | "sse";
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "offline";

export interface WebSocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface EventSourceLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown; lastEventId?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

export interface RealtimeOptions {
  getTicket: () => Promise<string>;
  wsUrl: string;
  sseUrl: string;
  onMessage: (msg: RealtimeMessage) => void;
  /** The account was deleted (on another page or device): the client has stopped for good. */
  onAccountDeleted?: () => void;
  /** Called on every successful connect; `reconnected` is false only for the very first one. */
  onOpen?: (info: { transport: Transport; reconnected: boolean }) => void;
  onStatus?: (status: ConnectionStatus, transport: Transport) => void;
  createWebSocket?: (url: string) => WebSocketLike;
  createEventSource?: (url: string) => EventSourceLike;
  wsFailuresBeforeFallback?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped at `max`. */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export function withToken(url: string, ticket: string): string {
  const u = new URL(url);
  u.searchParams.set("token", ticket);
  return u.toString();
}

/** Where the browser connects when REALTIME_URL is not set (fleet's websocket service). */
export const DEFAULT_REALTIME_URL = "ws://127.0.0.1:8001";

/**
 * Normalises the realtime URL (the server's REALTIME_URL): `ws://host:8001` or
 * `ws://host:8001/ws` → the `/ws` endpoint and the SSE one. A path such as `/ws` means this page's
 * own host (behind an ingress that routes `/ws` and `/api/sse` to the websocket service); it needs
 * `origin`, the page's origin (`http://host` → `ws://host`).
 */
export function realtimeUrls(base: string, origin?: string): { wsUrl: string; sseUrl: string } {
  const u = new URL(base, origin ? origin.replace(/^http/, "ws") : undefined);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/ws";
  const wsUrl = u.toString();
  const sse = new URL(wsUrl);
  sse.protocol = sse.protocol === "wss:" ? "https:" : "http:";
  sse.pathname = sse.pathname.replace(/\/ws\/?$/, "") + "/api/sse";
  return { wsUrl, sseUrl: sse.toString() };
}

export class RealtimeClient {
  private transport: Transport = "ws";
  private wsFailures = 0;
  private attempt = 0;
  private opened = false;
  private everOpened = false;
  private stopped = false;
  private timer: unknown = null;
  private socket: WebSocketLike | null = null;
  private source: EventSourceLike | null = null;
  private generation = 0;
  private lastEventId: string | null = null;
  private readonly o: Required<
    Pick<RealtimeOptions, "wsFailuresBeforeFallback" | "baseDelayMs" | "maxDelayMs" | "random" | "setTimer" | "clearTimer">
  > &
    RealtimeOptions;

  constructor(options: RealtimeOptions) {
    this.o = {
      wsFailuresBeforeFallback: 3,
      baseDelayMs: 500,
      maxDelayMs: 15_000,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  get currentTransport(): Transport {
    return this.transport;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
    this.teardown();
  }

  /** Reconnect now (e.g. the browser came back online), skipping any pending backoff. */
  reconnectNow(): void {
    if (this.stopped || this.opened) return;
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
    this.attempt = 0;
    void this.connect();
  }

  private teardown(): void {
    const ws = this.socket;
    const es = this.source;
    this.socket = null;
    this.source = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "client closing");
      } catch {
        /* already closed */
      }
    }
    if (es) {
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
    }
    this.opened = false;
  }

  private status(s: ConnectionStatus): void {
    this.o.onStatus?.(s, this.transport);
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    this.teardown();
    this.status(this.everOpened ? "reconnecting" : "connecting");
    let ticket: string;
    try {
      ticket = await this.o.getTicket();
    } catch {
      if (gen === this.generation) this.fail(false);
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    if (this.transport === "ws") this.openWs(gen, ticket);
    else this.openSse(gen, ticket);
  }

  private handleOpen(gen: number): void {
    if (gen !== this.generation) return;
    const reconnected = this.everOpened;
    this.opened = true;
    this.everOpened = true;
    this.attempt = 0;
    if (this.transport === "ws") this.wsFailures = 0;
    this.status("open");
    this.o.onOpen?.({ transport: this.transport, reconnected });
  }

  private handleData(gen: number, data: unknown, eventId?: string): void {
    if (gen !== this.generation || typeof data !== "string") return;
    if (eventId) this.lastEventId = eventId;
    let msg: RealtimeMessage | AccountDeletedPush;
    try {
      msg = JSON.parse(data) as RealtimeMessage | AccountDeletedPush;
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    if (msg.type === "account.deleted") {
      // The server closes the connection next; reconnecting would only be refused.
      this.stop();
      this.o.onAccountDeleted?.();
      return;
    }
    this.o.onMessage(msg);
  }

  private openWs(gen: number, ticket: string): void {
    const create = this.o.createWebSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
    let ws: WebSocketLike;
    try {
      ws = create(withToken(this.o.wsUrl, ticket));
    } catch {
      this.fail(true);
      return;
    }
    this.socket = ws;
    ws.onopen = () => this.handleOpen(gen);
    ws.onmessage = (ev) => this.handleData(gen, ev.data);
    ws.onerror = () => {
      /* a close event always follows */
    };
    ws.onclose = () => {
      if (gen !== this.generation) return;
      const wasOpen = this.opened;
      this.socket = null;
      this.opened = false;
      // A socket that never opened counts towards the SSE fallback; one that was open and
      // dropped (server restart, slow-client drop) just reconnects.
      this.fail(!wasOpen);
    };
  }

  private openSse(gen: number, ticket: string): void {
    const create = this.o.createEventSource ?? ((url: string) => new EventSource(url) as unknown as EventSourceLike);
    let es: EventSourceLike;
    try {
      es = create(withToken(this.o.sseUrl, ticket));
    } catch {
      this.fail(false);
      return;
    }
    this.source = es;
    es.onopen = () => this.handleOpen(gen);
    es.onmessage = (ev) => this.handleData(gen, ev.data, ev.lastEventId);
    es.onerror = () => {
      if (gen !== this.generation) return;
      // The ticket was single-use, so EventSource's own retry would be refused: close it and
      // reconnect with a fresh ticket (the re-sync covers what was missed).
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
      this.source = null;
      this.opened = false;
      this.fail(false);
    };
  }

  private fail(wsNeverOpened: boolean): void {
    if (this.stopped) return;
    if (this.transport === "ws" && wsNeverOpened) {
      this.wsFailures++;
      if (this.wsFailures >= this.o.wsFailuresBeforeFallback) {
        this.transport = "sse";
        this.attempt = 0;
      }
    }
    this.status(navigatorOnline() ? "reconnecting" : "offline");
    const delay = backoffDelay(this.attempt, this.o.baseDelayMs, this.o.maxDelayMs, this.o.random);
    this.attempt++;
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = this.o.setTimer(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  get lastSeenEventId(): string | null {
    return this.lastEventId;
  }
}

function navigatorOnline(): boolean {
  return typeof navigator === "undefined" || navigator.onLine !== false;
}
