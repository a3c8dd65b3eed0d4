// @vitest-environment node
// The forwarders as Next calls them: only allow-listed shapes reach the service (a recording
// fetch stands in for it), at a path built from the shape, and cross-site mutations never do.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { appRequest, fakeAuth, params, recordingFetch } from "./server-fakes";

vi.mock("@/lib/server/auth", async () => (await import("./server-fakes")).authModule);

const tasks = await import("@/app/api/tasks/[[...path]]/route");
const assistant = await import("@/app/api/assistant/[[...path]]/route");
const notifications = await import("@/app/api/notifications/[[...path]]/route");
const audit = await import("@/app/api/audit/[[...path]]/route");
const agentTokens = await import("@/app/api/agent-tokens/[[...path]]/route");
const ticket = await import("@/app/api/realtime/ticket/route");
const tags = await import("@/app/api/tags/route");
const { suspiciousRequestPath } = await import("@/lib/server/forward");

const ID = "0b8e7c36-5f7e-4a51-9d35-1f2b3c4d5e6f";
type Handler = (req: Request, ctx: ReturnType<typeof params>) => Promise<Response>;
const routes: Record<string, Record<"GET" | "POST" | "PATCH" | "PUT" | "DELETE", Handler>> = {
  tasks,
  assistant,
  notifications,
  audit,
  "agent-tokens": agentTokens,
};

/** Calls the `[[...path]]` handler of `/api/<prefix>/…` the way Next does for `url`, with `segments` as Next's decoded params. */
function call(method: string, url: string, segments: string[], opts: Parameters<typeof appRequest>[1] = {}) {
  const prefix = url.split(/[/?]/)[2]!;
  const handler = routes[prefix]![method as "GET"];
  return handler(appRequest(url, { method, ...opts }), params(segments.length ? segments : undefined));
}

let fetchMock: ReturnType<typeof recordingFetch>;
beforeEach(() => {
  fetchMock = recordingFetch();
  vi.stubEnv("DAPR_HTTP_PORT", "");
  vi.stubEnv("BETTER_AUTH_URL", "");
  vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "");
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.clearAllMocks();
});

async function expectRefused(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect((await res.json()).error.code).toBe(code);
  expect(fetchMock).not.toHaveBeenCalled();
}

describe("forwarders: allowed routes", () => {
  it.each([
    ["GET", "/api/tasks?status=pending&limit=50", [], "http://127.0.0.1:8000/api/tasks?status=pending&limit=50"],
    ["POST", "/api/tasks", [], "http://127.0.0.1:8000/api/tasks"],
    ["POST", "/api/tasks/parse", ["parse"], "http://127.0.0.1:8000/api/tasks/parse"],
    ["PATCH", `/api/tasks/${ID}`, [ID], `http://127.0.0.1:8000/api/tasks/${ID}`],
    ["POST", `/api/tasks/${ID}/complete`, [ID, "complete"], `http://127.0.0.1:8000/api/tasks/${ID}/complete`],
    ["GET", `/api/assistant/threads/${ID}/items?limit=5`, ["threads", ID, "items"], `http://127.0.0.1:8000/api/assistant/threads/${ID}/items?limit=5`],
    ["POST", `/api/assistant/confirmations/${ID}`, ["confirmations", ID], `http://127.0.0.1:8000/api/assistant/confirmations/${ID}`],
    ["GET", "/api/notifications/unread-count", ["unread-count"], "http://127.0.0.1:8003/api/notifications/unread-count"],
    ["DELETE", `/api/notifications/${ID}`, [ID], `http://127.0.0.1:8003/api/notifications/${ID}`],
    ["GET", "/api/audit/verify", ["verify"], "http://127.0.0.1:8004/api/audit/verify"],
    ["GET", "/api/agent-tokens", [], "http://127.0.0.1:8000/api/agent-tokens"],
    ["POST", "/api/agent-tokens", [], "http://127.0.0.1:8000/api/agent-tokens"],
    ["DELETE", "/api/agent-tokens", [], "http://127.0.0.1:8000/api/agent-tokens"],
    ["DELETE", `/api/agent-tokens/${ID}`, [ID], `http://127.0.0.1:8000/api/agent-tokens/${ID}`],
  ])("%s %s reaches the service at the shape's path", async (method, url, segments, upstream) => {
    const res = await call(method, url, segments);
    expect(res.status).toBe(200);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [calledUrl, init] = fetchMock.mock.calls[0]!;
    expect(calledUrl).toBe(upstream);
    expect(init?.method).toBe(method);
    expect(new Headers(init?.headers).get("authorization")).toBe("Bearer user-jwt");
  });

  it("goes through the Dapr sidecar's invoke API with the same path", async () => {
    vi.stubEnv("DAPR_HTTP_PORT", "3500");
    await call("POST", `/api/tasks/${ID}/reopen`, [ID, "reopen"]);
    expect(fetchMock.mock.calls[0]![0]).toBe(`http://127.0.0.1:3500/v1.0/invoke/backend-api/method/api/tasks/${ID}/reopen`);
  });
});

describe("forwarders: everything else is answered here, without calling the service", () => {
  it.each([
    // What Next hands the handler for /api/audit/%2e%2e/…, /api/audit/../…, %2f, %5c and friends.
    ["GET", "/api/audit/x", ["..", "..", "v1.0", "metadata"]],
    ["GET", "/api/tasks/x", ["..", "audit"]],
    ["GET", "/api/tasks/x", ["."]],
    ["GET", "/api/tasks/x", [`${ID}/../../audit`]],
    ["GET", "/api/tasks/x", ["a\\..\\b"]],
    ["GET", "/api/notifications/x", ["", "read-all"]],
    ["GET", "/api/tasks/x", [ID, "history"]],
    ["GET", "/api/audit/x", [ID]],
    ["POST", "/api/assistant/x", ["threads", ID, "messages", "extra"]],
    ["DELETE", "/api/agent-tokens/x", [ID, "revoke"]],
    ["DELETE", "/api/agent-tokens/x", ["..", "tasks", ID]],
  ])("%s %s with segments %j → 404", async (method, url, segments) => {
    await expectRefused(await call(method, url, segments), 404, "not_found");
  });

  it.each([
    ["DELETE", "/api/tasks", []],
    ["PUT", `/api/tasks/${ID}`, [ID]],
    ["GET", "/api/tasks/parse", ["parse"]],
    ["POST", "/api/audit", []],
    ["PATCH", "/api/notifications/read-all", ["read-all"]],
    ["PATCH", `/api/agent-tokens/${ID}`, [ID]],
    ["GET", `/api/agent-tokens/${ID}`, [ID]],
    ["PUT", "/api/agent-tokens", []],
  ])("%s %s (a method the route does not take) → 405", async (method, url, segments) => {
    const res = await call(method, url, segments);
    expect(res.headers.get("allow")).toBeTruthy();
    await expectRefused(res, 405, "method_not_allowed");
  });

  it.each(["/api/tasks/abc%2F..%2Fadmin", "/api/tasks/abc%2fx", "/api/tasks/abc%5Cx", "/api/tasks/%2e%2E%2Fx", "/api/tasks/abc%2E"])(
    "refuses the raw request path %s even when the route's params look harmless",
    async (url) => {
      // Next's router may normalise or decode differently; the raw path is checked on its own.
      await expectRefused(await call("GET", url, ["abc"]), 404, "not_found");
    },
  );

  it("suspiciousRequestPath flags encoded dots, slashes, backslashes and dot-dots in any case", () => {
    for (const p of ["/api/a%2eb", "/api/a%2Fb", "/api/a%5cb", "/api/a%5Cb", "/api/a..b", "/api/x%2E%2E"]) {
      expect(suspiciousRequestPath(`http://h${p}`), p).toBe(true);
    }
    for (const p of ["/api/tasks", `/api/tasks/${ID}/complete`, "/api/tasks?q=..%2f"]) {
      expect(suspiciousRequestPath(`http://h${p}`), p).toBe(false);
    }
  });

  it("does not even look the user up for a refused path", async () => {
    await call("GET", "/api/tasks/x", [".."]);
    expect(fakeAuth.api.getToken).not.toHaveBeenCalled();
  });
});

describe("forwarders and the ticket: cross-site mutations", () => {
  it("refuses a POST from an untrusted Origin with 403 forbidden_origin", async () => {
    await expectRefused(await call("POST", "/api/tasks", [], { origin: "https://evil.example" }), 403, "forbidden_origin");
    await expectRefused(await call("DELETE", `/api/notifications/${ID}`, [ID], { origin: "null" }), 403, "forbidden_origin");
    await expectRefused(
      await ticket.POST(appRequest("/api/realtime/ticket", { method: "POST", origin: "http://127.0.0.1:3001" })),
      403,
      "forbidden_origin",
    );
  });

  it("refuses a mutation without Origin that the browser marks cross-site", async () => {
    const res = await call("PATCH", `/api/tasks/${ID}`, [ID], { origin: null, headers: { "sec-fetch-site": "cross-site" } });
    await expectRefused(res, 403, "forbidden_origin");
  });

  it("lets through the app's own origins, the configured ones, and requests with neither header", async () => {
    vi.stubEnv("BETTER_AUTH_URL", "https://tasks.example.com");
    vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "https://other.example.com, http://10.0.0.2:3000");
    for (const origin of ["http://127.0.0.1:3000", "http://localhost:3000", "https://tasks.example.com", "https://other.example.com", "http://10.0.0.2:3000"]) {
      expect((await call("POST", "/api/tasks", [], { origin })).status, origin).toBe(200);
    }
    expect((await call("POST", "/api/tasks", [], { origin: null })).status).toBe(200);
    expect((await call("POST", "/api/tasks", [], { origin: null, headers: { "sec-fetch-site": "same-origin" } })).status).toBe(200);
    expect((await ticket.POST(appRequest("/api/realtime/ticket", { method: "POST" }))).status).toBe(200);
    expect(fetchMock).toHaveBeenCalledTimes(8);
  });

  it("does not apply to reads", async () => {
    expect((await call("GET", "/api/tasks", [], { origin: "https://evil.example" })).status).toBe(200);
    expect((await tags.GET(appRequest("/api/tags", { origin: "https://evil.example" }))).status).toBe(200);
  });
});
