import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // pg is a Node-only dependency of Better Auth's database pool; keep it out of the bundle.
  serverExternalPackages: ["pg"],
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
  // The security headers (CSP, no framing, nosniff, referrer policy) come from proxy.ts at run
  // time, with the realtime URL the server runs with.
};

export default nextConfig;
