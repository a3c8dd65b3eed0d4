import { auth } from "@/lib/server/auth";
import { errorResponse } from "@/lib/server/errors";
import { MCP_TOKEN_TTL_SECONDS, mcpUrl } from "@/lib/server/mcp";
import { refuseCrossSite } from "@/lib/server/origin";

export const dynamic = "force-dynamic";

/**
 * A token for an external agent (Claude Desktop, an IDE, a script) to use backend-api's `/mcp`
 * as the signed-in user: signed by Better Auth's JWT plugin (EdDSA, verified by the services
 * through the JWKS) with `sub` = the user, `aud` = the MCP URL and `token_use` = "mcp". `/mcp`
 * takes only tokens for its audience, and every other API refuses `token_use` "mcp" — so the
 * agent cannot confirm its own confirmation cards or reach the REST API. Shown once; valid 7
 * days; it cannot be revoked before that (signing out does not end it).
 */
export async function POST(req: Request) {
  // Another site must not be able to mint (and, with a CORS mistake anywhere, read) a token.
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const url = mcpUrl();
  const now = Math.floor(Date.now() / 1000);
  const exp = now + MCP_TOKEN_TTL_SECONDS;
  const { token } = await auth.api.signJWT({ body: { payload: { sub: session.user.id, aud: url, token_use: "mcp", iat: now, exp } } });
  return Response.json(
    { token, url, expires_at: new Date(exp * 1000).toISOString() },
    { headers: { "Cache-Control": "no-store" } },
  );
}
