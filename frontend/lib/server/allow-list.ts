// The routes the `[[...path]]` forwarders may reach, per forwarded prefix. The upstream path is
// rebuilt from one of these shapes, never from the browser's path: a forwarder holds the user's
// JWT, so `..`, encoded slashes and the like must not let it reach another route of the service
// or, in Dapr mode, the sidecar's own API (`/v1.0/invoke/<app>/method/../..`).
//
// Keep in step with the services' routers; a route missing here answers 404 from the app.

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** `path` is `/api/...`; a `{name}` segment is a placeholder for one id-like segment. */
export interface Shape {
  methods: readonly Method[];
  path: string;
}

const shape = (path: string, ...methods: Method[]): Shape => ({ methods, path });

export const FORWARDED_SHAPES = {
  // backend-api
  tasks: [
    shape("/api/tasks", "GET", "POST"),
    shape("/api/tasks/parse", "POST"),
    // Your data: every task as a JSON or CSV download; a Todoist CSV export in (text/csv).
    shape("/api/tasks/export", "GET"),
    shape("/api/tasks/import", "POST"),
    shape("/api/tasks/{id}", "GET", "PATCH", "DELETE"),
    shape("/api/tasks/{id}/complete", "POST"),
    shape("/api/tasks/{id}/reopen", "POST"),
    shape("/api/tasks/{id}/snooze", "POST"),
    shape("/api/tasks/trash", "GET", "DELETE"),
    shape("/api/tasks/trash/{id}", "DELETE"),
    shape("/api/tasks/trash/{id}/restore", "POST"),
  ],
  // Saved views of the task list.
  views: [shape("/api/views", "GET", "POST"), shape("/api/views/{id}", "PATCH", "DELETE")],
  assistant: [
    shape("/api/assistant/status", "GET"),
    shape("/api/assistant/threads", "GET", "POST"),
    shape("/api/assistant/threads/{id}", "DELETE"),
    shape("/api/assistant/threads/{id}/items", "GET"),
    shape("/api/assistant/threads/{id}/messages", "POST"),
    shape("/api/assistant/confirmations", "GET"),
    shape("/api/assistant/confirmations/{id}", "POST"),
  ],
  // The MCP agent token registry: list, register, revoke all; revoke one. (`/api/mcp/token`
  // registers through `callService` before it signs.)
  "agent-tokens": [shape("/api/agent-tokens", "GET", "POST", "DELETE"), shape("/api/agent-tokens/{id}", "DELETE")],
  // notification
  notifications: [
    shape("/api/notifications", "GET"),
    shape("/api/notifications/unread-count", "GET"),
    shape("/api/notifications/read-all", "POST"),
    shape("/api/notifications/{id}", "PATCH", "DELETE"),
  ],
  // notification: reminders by Web Push (this browser's subscription, the key it subscribes with)
  push: [shape("/api/push/public-key", "GET"), shape("/api/push/subscriptions", "POST", "DELETE")],
  // audit
  audit: [shape("/api/audit", "GET"), shape("/api/audit/verify", "GET")],
} satisfies Record<string, Shape[]>;
// (`GET /api/tags` and `POST /api/realtime/ticket` have fixed route handlers of their own.)

export type ForwardedPrefix = keyof typeof FORWARDED_SHAPES;

/**
 * What a placeholder (and any segment at all) may be: ids are UUIDs, literals are words. This
 * excludes `.`/`..`, empty segments, and slashes or backslashes that arrived percent-encoded and
 * were decoded into a segment.
 */
export const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

const isPlaceholder = (part: string) => part.startsWith("{") && part.endsWith("}");

export type RouteMatch =
  | { ok: true; path: string }
  | { ok: false; status: 404 }
  | { ok: false; status: 405; allow: readonly Method[] };

/**
 * The upstream path for `method` on `segments` (the request path split at `/`, e.g.
 * `["api", "tasks", "<id>", "complete"]`), or why not. When several shapes fit, the one with a
 * literal at the first position where they differ wins (`/api/tasks/parse` over
 * `/api/tasks/{id}`), as in the services' routers; its methods then decide (405 otherwise).
 */
export function matchRoute(shapes: readonly Shape[], method: string, segments: readonly string[]): RouteMatch {
  if (!segments.every((s) => SEGMENT.test(s))) return { ok: false, status: 404 };
  let best: { shape: Shape; parts: string[]; rank: string } | null = null;
  for (const s of shapes) {
    const parts = s.path.split("/").slice(1);
    if (parts.length !== segments.length) continue;
    if (!parts.every((p, i) => isPlaceholder(p) || p === segments[i])) continue;
    // "1" for a literal, "0" for a placeholder: equal lengths, so the string order is the rule.
    const rank = parts.map((p) => (isPlaceholder(p) ? "0" : "1")).join("");
    if (!best || rank > best.rank) best = { shape: s, parts, rank };
  }
  if (!best) return { ok: false, status: 404 };
  if (!best.shape.methods.includes(method.toUpperCase() as Method)) {
    return { ok: false, status: 405, allow: best.shape.methods };
  }
  // Built from the shape; a placeholder takes the segment, which SEGMENT has proven needs no encoding.
  return { ok: true, path: "/" + best.parts.map((p, i) => (isPlaceholder(p) ? segments[i] : p)).join("/") };
}
