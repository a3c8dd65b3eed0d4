import { auth } from "@/lib/server/auth";
import { errorResponse } from "@/lib/server/forward";
import { MCP_TOKEN_TTL_SECONDS, mcpUrl } from "@/lib/server/mcp";

export const dynamic = "force-dynamic";

/**
 * A token for an external agent (Claude Desktop, an IDE, a script) to use backend-api's `/mcp`
 * as the signed-in user: signed by Better Auth's JWT plugin (EdDSA, verified by the services
 * through the JWKS) with `sub` = the user and `aud` = the MCP URL, so the REST API's tokens
 * are not accepted there and this one is good for nothing else. Shown once; valid 7 days.
 */
export async function POST(req: Request) {
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const url = mcpUrl();
  const now = Math.floor(Date.now() / 1000);
  const exp = now + MCP_TOKEN_TTL_SECONDS;
  const { token } = await auth.api.signJWT({ body: { payload: { sub: session.user.id, aud: url, iat: now, exp } } });
  return Response.json(
    { token, url, expires_at: new Date(exp * 1000).toISOString() },
    { headers: { "Cache-Control": "no-store" } },
  );
}
