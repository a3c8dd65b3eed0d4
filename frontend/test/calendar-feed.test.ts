// @vitest-environment node
// The calendar feed: the route handler registers (or reads) the feed row with backend-api as the
// user and signs the feed token from the row alone; the URL helpers pick the kind of feed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { feedUrlFor, webcalUrl } from "@/lib/calendar-feed";
import { appRequest, fakeAuth, jsonResponse, recordingFetch } from "./server-fakes";

vi.mock("@/lib/server/auth", async () => (await import("./server-fakes")).authModule);

const route = await import("@/app/api/calendar-feed/route");

const FEED = "https://tasks.example.com/calendar.ics";
const row = {
  id: "5b0c7a51-8e0f-4c55-9d0e-3f2a1b4c6d7e",
  created_at: "2026-05-01T10:00:00.500Z",
  last_used_at: null,
};

beforeEach(() => {
  vi.stubEnv("DAPR_HTTP_PORT", "");
  vi.stubEnv("BACKEND_API_URL", "");
  vi.stubEnv("CALENDAR_URL", FEED);
  vi.stubEnv("BETTER_AUTH_URL", "");
  vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "");
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.clearAllMocks();
});

describe("/api/calendar-feed", () => {
  it("answers {feed: null} while the feed is off, and signs nothing", async () => {
    recordingFetch(() => jsonResponse({ error: { code: "not_found", message: "no" } }, 404));
    const res = await route.GET(appRequest("/api/calendar-feed"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ feed: null });
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("signs the feed token from the row: same payload every time, so the same URL", async () => {
    const fetchMock = recordingFetch(() => jsonResponse(row));
    const first = await route.GET(appRequest("/api/calendar-feed"));
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(await first.json()).toEqual({
      feed: { id: row.id, url: `${FEED}?token=mcp-jwt`, created_at: row.created_at, last_used_at: null },
    });
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("http://127.0.0.1:8000/api/calendar-feed");
    expect(new Headers(init?.headers).get("authorization")).toBe("Bearer user-jwt");

    await route.GET(appRequest("/api/calendar-feed"));
    const payloads = fakeAuth.api.signJWT.mock.calls.map((c) => c[0].body.payload);
    const iat = Math.floor(Date.parse(row.created_at) / 1000);
    expect(payloads[0]).toEqual({
      sub: "user-1",
      aud: FEED,
      token_use: "calendar",
      jti: row.id,
      iat,
      exp: iat + 10 * 365 * 24 * 3600,
    });
    expect(payloads[1]).toEqual(payloads[0]);
  });

  it("turns the feed on (or rotates it) with backend-api first, then signs: 201", async () => {
    const fetchMock = recordingFetch(() => jsonResponse(row, 201));
    const res = await route.POST(appRequest("/api/calendar-feed", { method: "POST" }));
    expect(res.status).toBe(201);
    expect((await res.json()).feed.url).toBe(`${FEED}?token=mcp-jwt`);
    expect(fetchMock.mock.calls[0]![1]?.method).toBe("POST");
    expect(fetchMock.mock.invocationCallOrder[0]!).toBeLessThan(fakeAuth.api.signJWT.mock.invocationCallOrder[0]!);
  });

  it("answers a refusal as it came and signs nothing", async () => {
    recordingFetch(() => jsonResponse({ error: { code: "rate_limited", message: "slow down" } }, 429));
    const res = await route.POST(appRequest("/api/calendar-feed", { method: "POST" }));
    expect(res.status).toBe(429);
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("refuses other sites before anything is registered or signed", async () => {
    const fetchMock = recordingFetch();
    const post = await route.POST(appRequest("/api/calendar-feed", { method: "POST", origin: "https://evil.example" }));
    expect(post.status).toBe(403);
    const get = await route.GET(appRequest("/api/calendar-feed", { origin: null, headers: { "sec-fetch-site": "cross-site" } }));
    expect(get.status).toBe(403);
    const del = await route.DELETE(appRequest("/api/calendar-feed", { method: "DELETE", origin: "https://evil.example" }));
    expect(del.status).toBe(403);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
  });

  it("refuses a caller without a session", async () => {
    fakeAuth.api.getSession.mockResolvedValueOnce(null);
    const fetchMock = recordingFetch();
    const res = await route.GET(appRequest("/api/calendar-feed"));
    expect(res.status).toBe(401);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("turns the feed off through backend-api", async () => {
    const fetchMock = recordingFetch(() => new Response(null, { status: 204 }));
    const res = await route.DELETE(appRequest("/api/calendar-feed", { method: "DELETE" }));
    expect(res.status).toBe(204);
    expect(fetchMock.mock.calls[0]![1]?.method).toBe("DELETE");
  });
});

describe("feed URLs", () => {
  const signed = `${FEED}?token=a.b.c`;
  it("adds kind=todos for task apps and drops it for calendars", () => {
    expect(feedUrlFor(signed, "todos")).toBe(`${FEED}?token=a.b.c&kind=todos`);
    expect(feedUrlFor(feedUrlFor(signed, "todos"), "events")).toBe(signed);
  });
  it("offers the webcal:// form", () => {
    expect(webcalUrl(signed)).toBe("webcal://tasks.example.com/calendar.ics?token=a.b.c");
    expect(webcalUrl("http://localhost:8000/calendar.ics?token=x")).toBe("webcal://localhost:8000/calendar.ics?token=x");
  });
});
