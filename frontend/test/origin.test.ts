// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { trustedOrigins } from "@/lib/server/auth-config";
import { refuseCrossSite } from "@/lib/server/origin";
import { appRequest, fakeAuth, jsonResponse, recordingFetch, registeredToken } from "./server-fakes";

vi.mock("@/lib/server/auth", async () => (await import("./server-fakes")).authModule);

const mcpToken = await import("@/app/api/mcp/token/route");

describe("trustedOrigins", () => {
  it("is the app's URL, the two local ones and BETTER_AUTH_TRUSTED_ORIGINS", () => {
    expect(trustedOrigins({})).toEqual(["http://127.0.0.1:3000", "http://localhost:3000"]);
    expect(
      trustedOrigins({ BETTER_AUTH_URL: "https://tasks.example.com", BETTER_AUTH_TRUSTED_ORIGINS: " https://a.example , ,http://b:3000" }),
    ).toEqual(["https://tasks.example.com", "http://127.0.0.1:3000", "http://localhost:3000", "https://a.example", "http://b:3000"]);
  });
});

describe("refuseCrossSite", () => {
  const env = { BETTER_AUTH_URL: "https://tasks.example.com/", BETTER_AUTH_TRUSTED_ORIGINS: "https://a.example" };
  const check = (method: string, headers: Record<string, string>) => {
    const req = new Request("http://127.0.0.1:3000/api/x", { method, headers, body: method === "GET" ? undefined : "" });
    return refuseCrossSite(req, env);
  };

  it.each(["POST", "PUT", "PATCH", "DELETE"])("refuses %s from an untrusted or opaque Origin", async (method) => {
    for (const origin of ["https://evil.example", "null", "https://tasks.example.com.evil.example", "http://tasks.example.com"]) {
      const res = check(method, { origin });
      expect(res?.status, origin).toBe(403);
      expect((await res!.json()).error.code).toBe("forbidden_origin");
    }
  });

  it("accepts trusted origins, matching them as origins (a trailing slash in BETTER_AUTH_URL is fine)", () => {
    for (const origin of ["https://tasks.example.com", "https://a.example", "http://localhost:3000", "http://127.0.0.1:3000"]) {
      expect(check("POST", { origin }), origin).toBeNull();
    }
  });

  it("refuses a mutation with no Origin only when Sec-Fetch-Site says cross-site", () => {
    expect(check("DELETE", { "sec-fetch-site": "cross-site" })?.status).toBe(403);
    expect(check("DELETE", { "sec-fetch-site": "same-origin" })).toBeNull();
    expect(check("DELETE", { "sec-fetch-site": "none" })).toBeNull();
    // curl, server-to-server: neither header.
    expect(check("DELETE", {})).toBeNull();
  });

  it("leaves safe methods alone", () => {
    expect(check("GET", { origin: "https://evil.example", "sec-fetch-site": "cross-site" })).toBeNull();
  });
});

describe("POST /api/mcp/token", () => {
  let fetchMock: ReturnType<typeof recordingFetch>;
  beforeEach(() => {
    vi.stubEnv("BETTER_AUTH_URL", "");
    vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "");
    vi.stubEnv("DAPR_HTTP_PORT", "");
    fetchMock = recordingFetch(() => jsonResponse(registeredToken, 201));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.unstubAllEnvs();
    vi.clearAllMocks();
  });

  it("mints no token for another site", async () => {
    const res = await mcpToken.POST(appRequest("/api/mcp/token", { method: "POST", origin: "https://evil.example" }));
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("forbidden_origin");
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("refuses a cross-site request without Origin", async () => {
    const req = appRequest("/api/mcp/token", { method: "POST", origin: null, headers: { "sec-fetch-site": "cross-site" } });
    expect((await mcpToken.POST(req)).status).toBe(403);
    expect(fakeAuth.api.signJWT).not.toHaveBeenCalled();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("mints one for the app itself", async () => {
    const res = await mcpToken.POST(appRequest("/api/mcp/token", { method: "POST" }));
    expect(res.status).toBe(200);
    expect((await res.json()).token).toBe("mcp-jwt");
  });
});
