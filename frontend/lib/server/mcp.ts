// Where external agents reach backend-api's MCP endpoint, as they see it (the audience of
// their tokens). Must equal backend-api's MCP_URL.
export const MCP_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

export function mcpUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.MCP_URL || "http://localhost:8000/mcp";
}
