import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { nextCookies } from "better-auth/next-js";
import { Pool } from "pg";

export const DEV_SECRET = "taskfleet-dev-only-better-auth-secret-change-me-0123456789";

function secret(): string {
  const s = process.env.BETTER_AUTH_SECRET;
  if (s) return s;
  if (process.env.NODE_ENV === "production" && process.env.NEXT_PHASE !== "phase-production-build") {
    console.warn("BETTER_AUTH_SECRET is not set: using the built-in development secret (never do this in production)");
  }
  return DEV_SECRET;
}

export const databaseUrl = () => process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/taskfleet";
const baseURL = process.env.BETTER_AUTH_URL || "http://127.0.0.1:3000";

function trustedOrigins(): string[] {
  const origins = new Set([baseURL, "http://127.0.0.1:3000", "http://localhost:3000"]);
  for (const o of (process.env.BETTER_AUTH_TRUSTED_ORIGINS ?? "").split(",")) if (o.trim()) origins.add(o.trim());
  return [...origins];
}

export const authOptions = {
  appName: "taskfleet",
  baseURL,
  secret: secret(),
  database: new Pool({ connectionString: databaseUrl(), max: 10 }),
  trustedOrigins: trustedOrigins(),
  emailAndPassword: { enabled: true, minPasswordLength: 8, autoSignIn: true },
  session: { expiresIn: 60 * 60 * 24 * 30, updateAge: 60 * 60 * 24 },
  telemetry: { enabled: false },
  // The services verify these EdDSA tokens against /api/auth/jwks (AUTH_JWKS_URL); sub = user id.
  plugins: [jwt({ jwt: { expirationTime: "15m" } }), nextCookies()],
} satisfies Parameters<typeof betterAuth>[0];

export const auth = betterAuth(authOptions);
