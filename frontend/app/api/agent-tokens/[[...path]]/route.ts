import { forwardingRoutes } from "@/lib/server/forward";

export const dynamic = "force-dynamic";
/** The user's MCP agent tokens: list, revoke one, revoke all (backend-api's registry; tokens are
 * minted by `/api/mcp/token`, which registers before it signs). */
export const { GET, POST, PATCH, PUT, DELETE } = forwardingRoutes("backend-api", "agent-tokens");
