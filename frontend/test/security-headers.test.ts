// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { contentSecurityPolicy, realtimeSources, securityHeaders } from "@/lib/security-headers";

/** The CSP as directive → sources. */
function parse(csp: string): Record<string, string[]> {
  return Object.fromEntries(
    csp.split(";").map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/);
      return [name!, sources];
    }),
  );
}

describe("realtimeSources", () => {
  it("allows the WebSocket and its SSE fallback exactly as lib/realtime.ts opens them", () => {
    expect(realtimeSources("ws://127.0.0.1:8001")).toEqual(["ws://127.0.0.1:8001", "http://127.0.0.1:8001"]);
    expect(realtimeSources("wss://tasks.example.com/ws")).toEqual(["wss://tasks.example.com", "https://tasks.example.com"]);
    expect(realtimeSources("ws://localhost:8001/ws")).toEqual(["ws://localhost:8001", "http://localhost:8001"]);
  });

  it("is empty for a URL that does not parse", () => {
    expect(realtimeSources("not a url")).toEqual([]);
  });
});

describe("contentSecurityPolicy", () => {
  it("forbids framing, plugins, <base> and foreign form targets, and limits connections", () => {
    const csp = parse(contentSecurityPolicy({ realtimeUrl: "ws://127.0.0.1:8001" }));
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect(csp["object-src"]).toEqual(["'none'"]);
    expect(csp["base-uri"]).toEqual(["'self'"]);
    expect(csp["form-action"]).toEqual(["'self'"]);
    expect(csp["default-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toEqual(["'self'", "ws://127.0.0.1:8001", "http://127.0.0.1:8001"]);
    expect(csp["script-src"]).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp["upgrade-insecure-requests"]).toBeUndefined();
  });

  it("allows eval only for `next dev`", () => {
    expect(parse(contentSecurityPolicy({ realtimeUrl: "ws://h:8001", dev: true }))["script-src"]).toContain("'unsafe-eval'");
    expect(contentSecurityPolicy({ realtimeUrl: "ws://h:8001" })).not.toContain("unsafe-eval");
  });
});

describe("securityHeaders", () => {
  it("sends the CSP with X-Frame-Options, nosniff and a referrer policy", () => {
    const headers = Object.fromEntries(securityHeaders({ realtimeUrl: "wss://tasks.example.com/ws" }).map((h) => [h.key, h.value]));
    expect(headers["Content-Security-Policy"]).toContain("connect-src 'self' wss://tasks.example.com https://tasks.example.com");
    expect(headers["X-Frame-Options"]).toBe("DENY");
    expect(headers["X-Content-Type-Options"]).toBe("nosniff");
    expect(headers["Referrer-Policy"]).toBe("strict-origin-when-cross-origin");
  });
});

describe("proxy.ts", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("sends them on every path, with the realtime URL the server runs with", async () => {
    vi.stubEnv("REALTIME_URL", "ws://localhost:8001/ws");
    const { proxy, config } = await import("@/proxy");
    expect(config.matcher).toBe("/:path*");
    const headers = proxy().headers;
    expect(headers.get("Content-Security-Policy")).toContain("connect-src 'self' ws://localhost:8001 http://localhost:8001");
    for (const name of ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]) expect(headers.get(name)).toBeTruthy();
  });

  it("allows only this origin for a same-origin path behind an ingress", async () => {
    vi.stubEnv("REALTIME_URL", "/ws");
    const { proxy } = await import("@/proxy");
    expect(proxy().headers.get("Content-Security-Policy")).toContain("connect-src 'self';");
  });

  it("falls back to the realtime default when REALTIME_URL is unset", async () => {
    vi.stubEnv("REALTIME_URL", "");
    const { proxy } = await import("@/proxy");
    expect(proxy().headers.get("Content-Security-Policy")).toContain("connect-src 'self' ws://127.0.0.1:8001 http://127.0.0.1:8001;");
  });
});
