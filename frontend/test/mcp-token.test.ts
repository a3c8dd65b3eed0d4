// @vitest-environment node
// Minting an MCP agent token: registered with backend-api as the user first (a recording fetch
// stands in for it), signed only after a 201, with the registered id as `jti` and its expiry as
// `exp`; a refused registration is answered as it came and nothing is signed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { appRequest, fakeAuth, jsonResponse, recordingFetch, registeredToken } from "./server-fakes";

vi.mock("@/lib/server/auth", async () => (await import("./server-fakes")).authModule);

const mcpToken = await import("@/app/api/mcp/token/route");

const mint = (opts: Parameters<typeof appRequest>[1] = {}) => mcpToken.POST(appRequest("/api/mcp/token", { method: "POST", ...opts }));

beforeEach(() => {
  vi.stubEnv("DAPR_HTTP_PORT", "");
  vi.stubEnv("BACKEND_API_URL", "");
  vi.stubEnv("MCP_URL", "https://tasks.example.com/mcp");
  vi.stubEnv("BETTER_AUTH_URL", "");
  vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "");
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.clearAllMocks();
});

describe("POST /api/mcp/token: register, then sign", () => {
  it("registers with backend-api as the user before it signs, with jti = the registered id and exp = its expiry", async () => {
    const row = { ...registeredToken, label: "Claude Desktop" };
    const fetchMock = recordingFetch(() => jsonResponse(row, 201));
    const res = await mint({ body: JSON.stringify({ label: "Claude Desktop" }), headers: { "content-type": "text/plain" } });

    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      token: "mcp-jwt",
      url: "https://tasks.example.com/mcp",
      expires_at: row.expires_at,
      id: row.id,
      label: "Claude Desktop",
    });

    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("http://127.0.0.1:8000/api/agent-tokens");
    expect(init?.method).toBe("POST");
    const headers = new Headers(init?.headers);
    expect(headers.get("authorization")).toBe("Bearer user-jwt");
    expect(headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(String(init?.body))).toEqual({ label: "Claude Desktop" });

    expect(fakeAuth.api.signJWT).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.invocationCallOrder[0]!).toBeLessThan(fakeAuth.api.signJWT.mock.invocationCallOrder[0]!);
    const { payload } = fakeAuth.api.signJWT.mock.calls[0]![0].body;
    expect(payload).toEqual({
      sub: "user-1",
      aud: "https://tasks.example.com/mcp",
      token_use: "mcp",
      jti: row.id,
      iat: expect.any(Number),
      exp: Math.floor(Date.parse(row.expires_at) / 1000),
    });
    expect(payload.exp).toBe(1778234400);
  });

  it.each([
    ["an empty JSON body", "{}"],
    ["no body at all", null],
    ["a body that is not JSON", "label=x"],
  ])("registers without a label (backend-api's default) given %s", async (_what, body) => {
    const fetchMock = recordingFetch(() => jsonResponse(registeredToken, 201));
    const res = await mint({ body });
    expect(res.status).toBe(200);
    expect(JSON.parse(String(fetchMock.mock.calls[0]![1]?.body))).toEqual({});
    expect((await res.json()).label).toBe("Agent");
  });

  it("goes through the Dapr sidecar when DAPR_HTTP_PORT is set", async () => {
    vi.stubEnv("DAPR_HTTP_PORT", "3500");
    const fetchMock = recordingFetch(() => jsonResponse(registeredToken, 201));
    expect((await mint()).status).toBe(200);
    expect(fetchMock.mock.calls[0]![0]).toBe("http://127.0.0.1:3500/v1.0/invoke/backend-api/method/api/agent-tokens");
  });
});

describe("POST /api/mcp/token: nothing is signed unless the registration succeeded", () => {
  beforeEach(() => void vi.spyOn(console, "error").mockImplementation(() => {}));
  it.each([
    [429, { error: { code: "rate_limited", message: "too many requests" } }, { "retry-after": "30" }],
    [503, { error: { code: "unavailable", message: "the database is out of reach" } }, {}],
    [422, { error: { code: "validation_failed", message: "validation failed" } }, {}],
    [401, { error: { code: "unauthorized", message: "no valid token" } }, {}],
  ])("passes a %i from backend-api through", async (status, body, headers) => {
    recordingFetch(() => jsonResponse(body, status, headers));
    const res = await mint({ body: JSON.stringify({ label: "x" }) });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
    if ("retry-after" in headers) expect(res.headers.get("retry-after")).toBe("30");
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("answers 502 when backend-api cannot be reached", async () => {
    recordingFetch(() => {
      throw new TypeError("fetch failed");
    });
    const res = await mint();
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe("service_unavailable");
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it.each([
    ["201 without a token row", () => jsonResponse({}, 201)],
    ["201 with an id that is not a UUID", () => jsonResponse({ ...registeredToken, id: "../x" }, 201)],
    ["200 instead of 201", () => jsonResponse(registeredToken, 200)],
  ])("answers 502 for %s", async (_what, answer) => {
    recordingFetch(answer);
    expect((await mint()).status).toBe(502);
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("refuses a label that is not text without registering", async () => {
    const fetchMock = recordingFetch(() => jsonResponse(registeredToken, 201));
    const res = await mint({ body: JSON.stringify({ label: 42 }) });
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe("validation_failed");
    expect(fetchMock).not.toHaveBeenCalled();
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("registers nothing without a session", async () => {
    const fetchMock = recordingFetch(() => jsonResponse(registeredToken, 201));
    fakeAuth.api.getSession.mockResolvedValueOnce(null);
    const res = await mint();
    expect(res.status).toBe(401);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });
});
