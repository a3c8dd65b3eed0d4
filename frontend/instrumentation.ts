// Runs once when the Next.js server starts: refuses to start outside development without a proper
// BETTER_AUTH_SECRET, then creates/updates Better Auth's tables (user, session, account,
// verification, jwks) and the wrong-password counter (password_attempts) in DATABASE_URL before the
// first request is served.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // Here, not only where lib/server/auth.ts is first loaded: that happens on the first request.
  const { exitWithoutAuthSecret } = await import("./lib/server/startup");
  exitWithoutAuthSecret();
  if (process.env.SKIP_AUTH_MIGRATIONS === "1") return;
  const { migrateAuth } = await import("./lib/server/migrate");
  await migrateAuth();
}
