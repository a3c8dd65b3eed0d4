// Fakes for the server-side route handlers: a stand-in for lib/server/auth.ts (no database, no
// Better Auth) and a recording `fetch` in place of the services. Use with
//   vi.mock("@/lib/server/auth", () => import("./server-fakes").then((m) => m.authModule));
import { APIError } from "better-auth/api";
import { vi } from "vitest";

export const fakeAuth = {
  api: {
    getToken: vi.fn(async (_: { headers: Headers }) => ({ token: "user-jwt" }) as { token: string } | null),
    getSession: vi.fn(async (_: { headers: Headers }) => ({ user: { id: "user-1" } }) as { user: { id: string } } | null),
    signJWT: vi.fn(async (_: { body: { payload: Record<string, unknown> } }) => ({ token: "mcp-jwt" })),
    verifyPassword: vi.fn(async (_: { body: { password: string }; headers: Headers }) => ({ status: true })),
    deleteUser: vi.fn(async (_: { body: { password?: string }; headers: Headers }) => ({ success: true })),
  },
  $context: Promise.resolve({ adapter: { count: vi.fn(async () => 1) } }) as Promise<{
    adapter: { count: (q: { model: string }) => Promise<number> };
  }>,
};

export const authModule = { auth: fakeAuth };

/** What Better Auth's `verifyPassword` throws for a password that is not the user's. */
export const wrongPassword = () => new APIError("BAD_REQUEST", { code: "INVALID_PASSWORD", message: "Invalid password" });

export const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A `fetch` that answers with `answer` (200 `{}` unless told) and records every call:
 * `mock.calls` gives [url, init] pairs. */
export function recordingFetch(answer: (url: string, init?: RequestInit) => Response | Promise<Response> = () => jsonResponse({})) {
  const fn = vi.fn(async (url: string, init?: RequestInit) => answer(url, init));
  vi.stubGlobal("fetch", fn);
  return fn;
}

/** What backend-api's `POST /api/agent-tokens` answers (201). */
export const registeredToken = {
  id: "7d9f6a2e-3b1c-4e8a-9f0d-2c5b6a7e8f91",
  label: "Agent",
  created_at: "2026-05-01T10:00:00.123Z",
  expires_at: "2026-05-08T10:00:00.123Z",
  last_used_at: null,
  revoked_at: null,
};

export const APP = "http://127.0.0.1:3000";

/** A browser request to the app; `origin` defaults to the app's own, a mutation's `body` to `{}`
 * (null: none). */
export function appRequest(
  path: string,
  {
    method = "GET",
    origin = APP,
    headers = {},
    body = "{}",
  }: { method?: string; origin?: string | null; headers?: Record<string, string>; body?: string | null } = {},
): Request {
  const h = new Headers(headers);
  if (origin !== null) h.set("origin", origin);
  const hasBody = !["GET", "HEAD"].includes(method) && body !== null;
  return new Request(`${APP}${path}`, { method, headers: h, body: hasBody ? body : undefined });
}

/** The second argument Next passes to a `[[...path]]` route handler. */
export const params = (path?: string[]) => ({ params: Promise.resolve(path === undefined ? {} : { path }) });
