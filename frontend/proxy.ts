// Runs before every request (Next.js proxy, Node runtime): sets the security headers, whose CSP
// allows the realtime URL the server runs with (lib/server/realtime-config.ts).
import { NextResponse } from "next/server";
import { securityHeaders } from "@/lib/security-headers";
import { realtimeUrl } from "@/lib/server/realtime-config";

export function proxy(): NextResponse {
  const response = NextResponse.next();
  const dev = process.env.NODE_ENV === "development";
  for (const { key, value } of securityHeaders({ realtimeUrl: realtimeUrl(), dev })) {
    response.headers.set(key, value);
  }
  return response;
}

export const config = { matcher: "/:path*" };
