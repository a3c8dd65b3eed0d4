// Forwards a browser request to a service with the signed-in user's JWT: through Dapr service
// invocation when DAPR_HTTP_PORT is set, directly to the service URL otherwise. Only to the
// routes of lib/server/allow-list.ts (or a fixed path), and mutations only from trusted origins.
import { type ForwardedPrefix, FORWARDED_SHAPES, matchRoute } from "./allow-list";
import { auth } from "./auth";
import { errorResponse, notFound } from "./errors";
import { refuseCrossSite } from "./origin";

export { errorResponse } from "./errors";

export type Service = "backend-api" | "notification" | "audit" | "websocket";

const DIRECT: Record<Service, { env: string; fallback: string }> = {
  "backend-api": { env: "BACKEND_API_URL", fallback: "http://127.0.0.1:8000" },
  notification: { env: "NOTIFICATION_URL", fallback: "http://127.0.0.1:8003" },
  audit: { env: "AUDIT_URL", fallback: "http://127.0.0.1:8004" },
  websocket: { env: "WEBSOCKET_URL", fallback: "http://127.0.0.1:8001" },
};

const APP_ID_ENV: Record<Service, string> = {
  "backend-api": "BACKEND_API_APP_ID",
  notification: "NOTIFICATION_APP_ID",
  audit: "AUDIT_APP_ID",
  websocket: "WEBSOCKET_APP_ID",
};

/** The upstream URL for `path` (which starts with `/api/...`) plus the query string. */
export function upstreamUrl(service: Service, path: string, search = "", env: NodeJS.ProcessEnv = process.env): string {
  const dapr = env.DAPR_HTTP_PORT;
  if (dapr) {
    const appId = env[APP_ID_ENV[service]] || service;
    return `http://127.0.0.1:${dapr}/v1.0/invoke/${appId}/method${path}${search}`;
  }
  const base = (env[DIRECT[service].env] || DIRECT[service].fallback).replace(/\/+$/, "");
  return `${base}${path}${search}`;
}

/** The signed-in user's short-lived JWT (EdDSA, verified by the services via JWKS), or null. */
export async function userJwt(headers: Headers): Promise<string | null> {
  try {
    const res = await auth.api.getToken({ headers });
    return res?.token ?? null;
  } catch {
    return null;
  }
}

const FORWARD_REQUEST_HEADERS = ["content-type", "if-match", "idempotency-key", "accept", "x-request-id"];
const FORWARD_RESPONSE_HEADERS = ["content-type", "content-disposition", "etag", "location", "x-request-id", "retry-after"];

/** A plain answer must arrive whole within this time. */
const TIMEOUT_MS = 15_000;
/** A server-sent event stream (the assistant's answer) may run this long in all. */
const STREAM_LIMIT_MS = 10 * 60_000;

const isEventStream = (res: Response) => (res.headers.get("content-type") ?? "").startsWith("text/event-stream");

/** Plain `/seg/seg…` segments only: what the allow-list builds and the fixed routes pass. */
const SAFE_PATH = /^(\/[A-Za-z0-9_-]{1,128})+$/;

/**
 * True when the browser's request path carries something a path could be smuggled with: a
 * percent-encoded dot, slash or backslash, or a `..`. None of the app's routes has them, so how
 * Next decoded them into params no longer matters. (Whole `..`/`%2e%2e` segments never show up
 * here: the URL parser has already resolved them. The segment check of the allow-list covers
 * what Next's router made of those.)
 */
export function suspiciousRequestPath(url: string): boolean {
  const path = new URL(url).pathname;
  return /%2e|%2f|%5c/i.test(path) || path.includes("..");
}

export async function forward(req: Request, service: Service, path: string): Promise<Response> {
  if (suspiciousRequestPath(req.url) || !SAFE_PATH.test(path)) return notFound();
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  const hasBody = !["GET", "HEAD"].includes(req.method);
  return callService(req, service, path, {
    method: req.method,
    // Read only once the user is known (inside callService).
    body: hasBody ? () => req.arrayBuffer() : undefined,
    search: new URL(req.url).search,
  });
}

/**
 * Calls `service` at the fixed `path` as the signed-in user of `req` (their JWT, and the request
 * headers `forward` passes on, which `init.headers` may replace) and answers with the service's
 * answer, or 401/502 from here. No origin check: for route handlers that have done theirs and
 * send a request of their own (`/api/mcp/token` registering a token before it signs it).
 */
export async function callService(
  req: Request,
  service: Service,
  path: string,
  init: { method: string; body?: string | (() => Promise<ArrayBuffer>); search?: string; headers?: Record<string, string> },
): Promise<Response> {
  if (!SAFE_PATH.test(path)) return notFound();
  const token = await userJwt(req.headers);
  if (!token) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const headers = new Headers({ authorization: `Bearer ${token}` });
  for (const h of FORWARD_REQUEST_HEADERS) {
    const v = req.headers.get(h);
    if (v) headers.set(h, v);
  }
  for (const [h, v] of Object.entries(init.headers ?? {})) headers.set(h, v);
  if (process.env.DAPR_API_TOKEN && process.env.DAPR_HTTP_PORT) headers.set("dapr-api-token", process.env.DAPR_API_TOKEN);
  // One signal for the whole exchange: the plain timeout until the answer is read, the stream
  // limit once it turns out to be an event stream, and the browser going away (which also
  // closes the upstream stream instead of leaving it open behind a closed tab).
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(new Error("upstream timeout")), TIMEOUT_MS);
  const onClientGone = () => abort.abort(new Error("client went away"));
  req.signal?.addEventListener("abort", onClientGone, { once: true });
  const done = () => {
    clearTimeout(timer);
    req.signal?.removeEventListener("abort", onClientGone);
  };
  abort.signal.addEventListener("abort", done, { once: true });
  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl(service, path, init.search), {
      method: init.method,
      headers,
      body: typeof init.body === "function" ? await init.body() : init.body,
      cache: "no-store",
      redirect: "manual",
      signal: abort.signal,
    });
  } catch (e) {
    done();
    console.error(`forward to ${service} failed:`, e instanceof Error ? e.message : e);
    return errorResponse(502, "service_unavailable", `The ${service} service is not reachable right now.`);
  }
  const out = new Headers({ "Cache-Control": "no-store" });
  for (const h of FORWARD_RESPONSE_HEADERS) {
    const v = upstream.headers.get(h);
    if (v) out.set(h, v);
  }
  if (isEventStream(upstream) && upstream.body) {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new Error("stream limit")), STREAM_LIMIT_MS);
    // Passed through chunk by chunk. no-transform keeps Next's gzip (and proxies) from
    // buffering the events; X-Accel-Buffering does the same for nginx in front of the app.
    out.set("Cache-Control", "no-cache, no-store, no-transform");
    out.set("X-Accel-Buffering", "no");
    const body = upstream.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        flush: done,
      }),
    );
    return new Response(body, { status: upstream.status, headers: out });
  }
  let body: ArrayBuffer | null = null;
  try {
    body = upstream.status === 204 || upstream.status === 304 ? null : await upstream.arrayBuffer();
  } catch (e) {
    console.error(`reading the answer of ${service} failed:`, e instanceof Error ? e.message : e);
    return errorResponse(502, "service_unavailable", `The ${service} service did not answer in time.`);
  } finally {
    done();
  }
  return new Response(body, { status: upstream.status, headers: out });
}

type Ctx = { params: Promise<{ path?: string[] }> };

/**
 * Route handlers for `/api/<prefix>/[[...path]]` forwarding to `service`: the request reaches the
 * service only when its method and path fit one of FORWARDED_SHAPES[prefix], and then at the
 * path built from that shape; anything else is answered here (404, or 405 for a known route).
 */
export function forwardingRoutes(service: Service, prefix: ForwardedPrefix) {
  const handler = async (req: Request, ctx: Ctx) => {
    const { path = [] } = await ctx.params;
    const match = matchRoute(FORWARDED_SHAPES[prefix], req.method, ["api", prefix, ...path]);
    if (!match.ok) {
      if (match.status === 404) return notFound();
      return errorResponse(405, "method_not_allowed", `This route does not take ${req.method}.`, { Allow: match.allow.join(", ") });
    }
    return forward(req, service, match.path);
  };
  return { GET: handler, POST: handler, PATCH: handler, PUT: handler, DELETE: handler };
}
