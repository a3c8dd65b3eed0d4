import { auth } from "@/lib/server/auth";
import { FEED_TOKEN_LIFETIME_SECONDS, calendarUrl } from "@/lib/server/calendar";
import { errorResponse } from "@/lib/server/errors";
import { callService } from "@/lib/server/forward";
import { refuseCrossSite } from "@/lib/server/origin";

export const dynamic = "force-dynamic";

/** A row of backend-api's `/api/calendar-feed`. */
interface FeedRow {
  id: string;
  created_at: string;
  last_used_at: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isFeedRow(v: unknown): v is FeedRow {
  const r = v as Partial<FeedRow> | null;
  return (
    !!r &&
    typeof r.id === "string" &&
    UUID.test(r.id) &&
    typeof r.created_at === "string" &&
    !Number.isNaN(Date.parse(r.created_at)) &&
    (r.last_used_at === null || typeof r.last_used_at === "string")
  );
}

const NO_STORE = { "Cache-Control": "no-store" };

/**
 * The feed's URL for the signed-in user: backend-api's `CALENDAR_URL` with a token signed by
 * Better Auth's JWT plugin (EdDSA, verified by backend-api through the JWKS) with `sub` = the
 * user, `aud` = the feed URL, `token_use` = "calendar" and `jti` = the feed's row. Other APIs
 * refuse a token with a `token_use`, so the URL, which lives in calendar apps and their logs,
 * opens nothing but the feed.
 */
async function withUrl(row: FeedRow, userId: string, status: number): Promise<Response> {
  const url = calendarUrl();
  const iat = Math.floor(Date.parse(row.created_at) / 1000);
  const { token } = await auth.api.signJWT({
    body: { payload: { sub: userId, aud: url, token_use: "calendar", jti: row.id, iat, exp: iat + FEED_TOKEN_LIFETIME_SECONDS } },
  });
  const feedUrl = `${url}?token=${encodeURIComponent(token)}`;
  return Response.json(
    { feed: { id: row.id, url: feedUrl, created_at: row.created_at, last_used_at: row.last_used_at } },
    { status, headers: NO_STORE },
  );
}

function unexpected(what: string, status: number): Response {
  console.error(`${what}: backend-api answered ${status} without a feed row`);
  return errorResponse(502, "service_unavailable", "The backend-api service answered unexpectedly.");
}

/** `{feed: {id, url, created_at, last_used_at}}`, or `{feed: null}` while the feed is off. */
export async function GET(req: Request) {
  // The answer holds a credential. Another site could not read it anyway (the app grants no
  // CORS), but a browser that says the request is cross-site gets nothing signed at all.
  if ((req.headers.get("sec-fetch-site") ?? "").toLowerCase() === "cross-site") {
    return errorResponse(403, "forbidden_origin", "Cross-site requests are not allowed.");
  }
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const res = await callService(req, "backend-api", "/api/calendar-feed", { method: "GET" });
  if (res.status === 404) return Response.json({ feed: null }, { headers: NO_STORE });
  if (!res.ok) return res;
  const row: unknown = await res.json().catch(() => null);
  if (!isFeedRow(row)) return unexpected("reading the calendar feed", res.status);
  return withUrl(row, session.user.id, 200);
}

/** Turns the feed on, or gives it a new secret URL (the old one stops working): 201. */
export async function POST(req: Request) {
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const res = await callService(req, "backend-api", "/api/calendar-feed", { method: "POST" });
  if (!res.ok) return res;
  const row: unknown = res.status === 201 ? await res.json().catch(() => null) : null;
  if (!isFeedRow(row)) return unexpected("turning the calendar feed on", res.status);
  return withUrl(row, session.user.id, 201);
}

/** Turns the feed off: every URL of it stops working (204). */
export async function DELETE(req: Request) {
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  return callService(req, "backend-api", "/api/calendar-feed", { method: "DELETE" });
}
