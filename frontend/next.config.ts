import type { NextConfig } from "next";
import { DEFAULT_REALTIME_URL } from "./lib/realtime";
import { securityHeaders } from "./lib/security-headers";

const nextConfig: NextConfig = {
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // pg is a Node-only dependency of Better Auth's database pool; keep it out of the bundle.
  serverExternalPackages: ["pg"],
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
  // CSP, no framing, nosniff, referrer policy on every page and API response. The realtime URL is
  // the one the browser bundle inlines (hooks/use-realtime.ts), both fixed at build time.
  async headers() {
    const realtimeUrl = process.env.NEXT_PUBLIC_WS_URL || DEFAULT_REALTIME_URL;
    const dev = process.env.NODE_ENV === "development";
    return [{ source: "/:path*", headers: securityHeaders({ realtimeUrl, dev }) }];
  },
};

export default nextConfig;
