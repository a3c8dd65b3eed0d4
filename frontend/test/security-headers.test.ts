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

describe("next.config.ts", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("sends them on every path, with the realtime URL the bundle uses", async () => {
    vi.stubEnv("NEXT_PUBLIC_WS_URL", "ws://localhost:8001/ws");
    const { default: config } = await import("@/next.config");
    const rules = await config.headers!();
    expect(rules).toHaveLength(1);
    expect(rules[0]!.source).toBe("/:path*");
    const csp = rules[0]!.headers.find((h) => h.key === "Content-Security-Policy")!.value;
    expect(csp).toContain("connect-src 'self' ws://localhost:8001 http://localhost:8001");
    expect(rules[0]!.headers.map((h) => h.key)).toEqual(
      expect.arrayContaining(["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]),
    );
  });

  it("falls back to the realtime default when NEXT_PUBLIC_WS_URL is unset", async () => {
    vi.stubEnv("NEXT_PUBLIC_WS_URL", "");
    const { default: config } = await import("@/next.config");
    const csp = (await config.headers!())[0]!.headers.find((h) => h.key === "Content-Security-Policy")!.value;
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:8001 http://127.0.0.1:8001;");
  });
});
