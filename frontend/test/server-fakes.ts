// Fakes for the server-side route handlers: a stand-in for lib/server/auth.ts (no database, no
// Better Auth) and a recording `fetch` in place of the services. Use with
//   vi.mock("@/lib/server/auth", () => import("./server-fakes").then((m) => m.authModule));
import { vi } from "vitest";

export const fakeAuth = {
  api: {
    getToken: vi.fn(async (_: { headers: Headers }) => ({ token: "user-jwt" }) as { token: string } | null),
    getSession: vi.fn(async (_: { headers: Headers }) => ({ user: { id: "user-1" } }) as { user: { id: string } } | null),
    signJWT: vi.fn(async (_: { body: { payload: Record<string, unknown> } }) => ({ token: "mcp-jwt" })),
  },
  $context: Promise.resolve({ adapter: { count: vi.fn(async () => 1) } }) as Promise<{
    adapter: { count: (q: { model: string }) => Promise<number> };
  }>,
};

export const authModule = { auth: fakeAuth };

/** A `fetch` that answers 200 `{}` and records every call: `calls()` gives [url, init] pairs. */
export function recordingFetch() {
  const fn = vi.fn(
    async (_url: string, _init?: RequestInit) =>
      new Response("{}", { status: 200, headers: { "content-type": "application/json" } }),
  );
  vi.stubGlobal("fetch", fn);
  return fn;
}

export const APP = "http://127.0.0.1:3000";

/** A browser request to the app; `origin` defaults to the app's own. */
export function appRequest(
  path: string,
  { method = "GET", origin = APP, headers = {} }: { method?: string; origin?: string | null; headers?: Record<string, string> } = {},
): Request {
  const h = new Headers(headers);
  if (origin !== null) h.set("origin", origin);
  const hasBody = !["GET", "HEAD"].includes(method);
  return new Request(`${APP}${path}`, { method, headers: h, body: hasBody ? "{}" : undefined });
}

/** The second argument Next passes to a `[[...path]]` route handler. */
export const params = (path?: string[]) => ({ params: Promise.resolve(path === undefined ? {} : { path }) });
