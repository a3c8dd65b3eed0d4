-- MCP agent tokens (security issue): every token handed to an external agent is registered
-- here before it is signed, and `/mcp` accepts a token only while its row is active, so a user
-- can list and revoke their agents' access (and signing out of every device revokes it all).
CREATE TABLE agent_tokens (
    -- The token's `jti` claim.
    id           uuid PRIMARY KEY,
    user_id      text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    -- The user's name for the agent ("Claude Desktop"), shown in the list.
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The token is refused after this, whatever its own `exp` says.
    expires_at   timestamptz NOT NULL,
    -- Refreshed at most once a minute by `/mcp`, so the list can say when an agent last called.
    last_used_at timestamptz,
    -- Set once: a revoked token never works again.
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);

-- The user's list (newest first) and "revoke all".
CREATE INDEX agent_tokens_user_created_idx ON agent_tokens (user_id, created_at DESC);
