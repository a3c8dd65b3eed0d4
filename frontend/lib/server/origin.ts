// Cross-site request refusal for the app's own mutating route handlers (the forwarders, the
// realtime ticket, the MCP token). They act with the user's session cookie, so a page on another
// site must not be able to make the browser call them (CSRF). SameSite=Lax cookies already stop
// most of it; this does not rely on that. Better Auth checks /api/auth/* itself.
import { type Env, trustedOrigins } from "./auth-config";
import { errorResponse } from "./errors";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const isMutating = (method: string) => MUTATING.has(method.toUpperCase());

/** `scheme://host[:port]` of each trusted origin; exact matches only (no wildcards). */
function trustedSet(env: Env): Set<string> {
  const out = new Set<string>();
  for (const o of trustedOrigins(env)) {
    try {
      out.add(new URL(o).origin);
    } catch {
      /* not a URL: it can never equal a browser's Origin */
    }
  }
  return out;
}

/**
 * Null when `req` may proceed, else the 403 to answer. Safe methods always proceed. A mutating
 * request proceeds when its Origin is trusted; with no Origin (older browsers on same-origin
 * requests, curl, server-to-server) unless the browser says it is cross-site (Sec-Fetch-Site).
 */
export function refuseCrossSite(req: Request, env: Env = process.env): Response | null {
  if (!isMutating(req.method)) return null;
  const origin = req.headers.get("origin");
  if (origin !== null) {
    // "null" (sandboxed frames, some redirects) is not a URL and never trusted.
    if (trustedSet(env).has(origin.trim().toLowerCase())) return null;
    return errorResponse(403, "forbidden_origin", "This request came from a site that is not allowed to call this app.");
  }
  if ((req.headers.get("sec-fetch-site") ?? "").toLowerCase() === "cross-site") {
    return errorResponse(403, "forbidden_origin", "Cross-site requests are not allowed.");
  }
  return null;
}
