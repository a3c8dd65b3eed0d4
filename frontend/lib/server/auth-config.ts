// Better Auth's settings that come from the environment, as pure functions of `env`: unit-tested,
// and importable by the origin check and instrumentation.ts without building the auth instance
// (which opens a database pool).

/** Public (it is in the repository), so it must never sign anything outside development. */
export const DEV_SECRET = "taskfleet-dev-only-better-auth-secret-change-me-0123456789";
export const MIN_SECRET_LENGTH = 32;

export type Env = Partial<Record<string, string>>;

/** Development: `fleet` (TASKFLEET_ENV=development), `next dev`, tests — anything but a production server. */
export function isDevelopment(env: Env = process.env): boolean {
  return env.TASKFLEET_ENV === "development" || env.NODE_ENV !== "production";
}

/**
 * The secret Better Auth signs sessions and encrypts the JWT signing keys with. The built-in
 * DEV_SECRET only in development; a production server with no secret, the built-in one or one
 * shorter than MIN_SECRET_LENGTH refuses to start (throws), so it cannot run with a key anyone
 * can read. `next build` also runs with NODE_ENV=production but never signs anything, and must
 * work without secrets, so it gets the placeholder.
 */
export function resolveAuthSecret(env: Env = process.env): string {
  const s = env.BETTER_AUTH_SECRET;
  if (isDevelopment(env) || env.NEXT_PHASE === "phase-production-build") return s || DEV_SECRET;
  if (s && s !== DEV_SECRET && s.length >= MIN_SECRET_LENGTH) return s;
  const why = !s
    ? "is not set"
    : s === DEV_SECRET
      ? "is the public built-in development secret"
      : `is shorter than ${MIN_SECRET_LENGTH} characters`;
  throw new Error(
    `BETTER_AUTH_SECRET ${why}: refusing to start. Set BETTER_AUTH_SECRET to a random string of at least ` +
      `${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 32\`), or TASKFLEET_ENV=development for local use.`,
  );
}

/** The public URL of the app (cookies, origin checks, JWT issuer). */
export function authBaseUrl(env: Env = process.env): string {
  return env.BETTER_AUTH_URL || "http://127.0.0.1:3000";
}

/**
 * The origins allowed to send the app requests with the user's cookie: given to Better Auth for
 * /api/auth/*, and used by the app's own mutating route handlers (lib/server/origin.ts). The one
 * list for both.
 */
export function trustedOrigins(env: Env = process.env): string[] {
  const origins = new Set([authBaseUrl(env), "http://127.0.0.1:3000", "http://localhost:3000"]);
  for (const o of (env.BETTER_AUTH_TRUSTED_ORIGINS ?? "").split(",")) if (o.trim()) origins.add(o.trim());
  return [...origins];
}
