// The security headers of every page and API response, set by proxy.ts on each request from the
// server's REALTIME_URL (a run-time setting). Pure, so the policy is unit-tested.
import { realtimeUrls } from "./realtime";

export interface SecurityHeaderOptions {
  /** The browser's realtime base URL: REALTIME_URL, or DEFAULT_REALTIME_URL when unset. A
   * same-origin path (`/ws`) needs no source beyond `'self'`, which covers ws:/wss: to this host. */
  realtimeUrl: string;
  /** `next dev`: React's development build needs eval (call stacks, Fast Refresh). */
  dev?: boolean;
}

/**
 * `scheme://host[:port]` of the two endpoints the realtime client opens (lib/realtime.ts):
 * the WebSocket (ws:/wss:) and its SSE fallback (http:/https: on the same host). Empty for a
 * same-origin path (`'self'` covers it) and when the URL does not parse.
 */
export function realtimeSources(realtimeUrl: string): string[] {
  try {
    const { wsUrl, sseUrl } = realtimeUrls(realtimeUrl);
    return [...new Set([wsUrl, sseUrl].map((u) => `${new URL(u).protocol}//${new URL(u).host}`))];
  } catch {
    return [];
  }
}

/**
 * Scripts: `'self' 'unsafe-inline'`, not a nonce. The App Router inlines its flight data and
 * bootstrap as inline scripts; a nonce would need the proxy (middleware) to mint one per request
 * and would force every page to render dynamically, for little gain here: no third-party script
 * or HTML from users or the model is ever injected (React escapes, the assistant renders model
 * text as plain text). What this policy does enforce: no framing (clickjacking), no plugins, no
 * `<base>` hijack, forms post only here, and fetch/XHR/WebSocket/EventSource reach only this
 * origin and the realtime service, so an injected script could not send data elsewhere.
 * Styles need 'unsafe-inline' too: style attributes from React, and Sonner's injected <style>.
 * No `upgrade-insecure-requests`: local runs are plain http, including the realtime service.
 */
export function contentSecurityPolicy({ realtimeUrl, dev = false }: SecurityHeaderOptions): string {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'", ...(dev ? ["'unsafe-eval'"] : [])],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'", ...realtimeSources(realtimeUrl)],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}

export function securityHeaders(options: SecurityHeaderOptions): { key: string; value: string }[] {
  return [
    { key: "Content-Security-Policy", value: contentSecurityPolicy(options) },
    // For browsers without CSP frame-ancestors.
    { key: "X-Frame-Options", value: "DENY" },
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  ];
}
