// Where external agents reach backend-api's MCP endpoint, as they see it (the audience of
// their tokens). Must equal backend-api's MCP_URL.
//
// Agent tokens are registered with backend-api (`/api/agent-tokens`) before they are signed
// (app/api/mcp/token): the row's id is the token's `jti` and its expiry the token's `exp`
// (7 days), and `/mcp` accepts a token only while its row is neither revoked nor expired. The
// user lists and revokes them in the assistant panel; "Sign out of every device" revokes them
// all. A token signed without a row is refused.

export function mcpUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.MCP_URL || "http://localhost:8000/mcp";
}
