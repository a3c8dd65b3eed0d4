// Runs once when the Next.js server starts: creates/updates Better Auth's tables (user, session,
// account, verification, jwks) in DATABASE_URL before the first request is served.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs" || process.env.SKIP_AUTH_MIGRATIONS === "1") return;
  const { migrateAuth } = await import("./lib/server/migrate");
  await migrateAuth();
}
