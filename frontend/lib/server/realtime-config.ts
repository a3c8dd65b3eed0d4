import { DEFAULT_REALTIME_URL } from "../realtime";

/**
 * Where browsers open their realtime connection, read when the server runs (not at build time,
 * so one image serves any host): `REALTIME_URL`, e.g. `/ws` behind an ingress that routes `/ws`
 * and `/api/sse` to the websocket service, or `ws://localhost:8001/ws` with a port-forward.
 */
export function realtimeUrl(env: Partial<Record<string, string>> = process.env): string {
  return env.REALTIME_URL?.trim() || DEFAULT_REALTIME_URL;
}
