import { auth } from "@/lib/server/auth";
import { errorResponse } from "@/lib/server/errors";
import { callService } from "@/lib/server/forward";
import { mcpUrl } from "@/lib/server/mcp";
import { refuseCrossSite } from "@/lib/server/origin";

export const dynamic = "force-dynamic";

/** The row backend-api's `POST /api/agent-tokens` answers with (201). */
interface Registered {
  id: string;
  label: string;
  expires_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isRegistered(v: unknown): v is Registered {
  const r = v as Partial<Registered> | null;
  return (
    !!r &&
    typeof r.id === "string" &&
    UUID.test(r.id) &&
    typeof r.label === "string" &&
    typeof r.expires_at === "string" &&
    !Number.isNaN(Date.parse(r.expires_at))
  );
}

/**
 * A token for an external agent (Claude Desktop, an IDE, a script) to use backend-api's `/mcp`
 * as the signed-in user. It is first registered with backend-api (`POST /api/agent-tokens`, as
 * the user, with the optional `label` of the request's JSON body), then signed by Better Auth's
 * JWT plugin (EdDSA, verified by the services through the JWKS) with `sub` = the user, `aud` =
 * the MCP URL, `token_use` = "mcp", `jti` = the registered id and `exp` = its expiry. `/mcp`
 * takes only tokens for its audience whose `jti` is an active row of that user, and every other
 * API refuses `token_use` "mcp" — so the agent cannot confirm its own confirmation cards or
 * reach the REST API, and the user can revoke the token (one by one in the assistant panel, or
 * all at once by signing out of every device). Shown once; valid 7 days unless revoked.
 * A refused registration (401, 422, 429, 503 …) is answered as it came, and nothing is signed.
 */
export async function POST(req: Request) {
  // Another site must not be able to mint (and, with a CORS mistake anywhere, read) a token.
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");

  // The body is optional: `{}` or none at all registers a token labelled "Agent".
  const body: unknown = await req.json().catch(() => null);
  const label = body && typeof body === "object" && "label" in body ? body.label : undefined;
  if (label !== undefined && typeof label !== "string") {
    return errorResponse(422, "validation_failed", "label must be text of 1–100 characters.");
  }
  const registration = await callService(req, "backend-api", "/api/agent-tokens", {
    method: "POST",
    body: JSON.stringify(label === undefined ? {} : { label }),
    headers: { "content-type": "application/json" },
  });
  if (!registration.ok) return registration;
  const row: unknown = registration.status === 201 ? await registration.json().catch(() => null) : null;
  if (!isRegistered(row)) {
    console.error(`registering an agent token: backend-api answered ${registration.status} without a token row`);
    return errorResponse(502, "service_unavailable", "The backend-api service answered unexpectedly.");
  }

  const url = mcpUrl();
  const now = Math.floor(Date.now() / 1000);
  const exp = Math.floor(Date.parse(row.expires_at) / 1000);
  const { token } = await auth.api.signJWT({
    body: { payload: { sub: session.user.id, aud: url, token_use: "mcp", jti: row.id, iat: now, exp } },
  });
  return Response.json(
    { token, url, expires_at: row.expires_at, id: row.id, label: row.label },
    { headers: { "Cache-Control": "no-store" } },
  );
}
