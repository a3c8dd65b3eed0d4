import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { nextCookies } from "better-auth/next-js";
import { Pool } from "pg";
import { authBaseUrl, resolveAuthSecret, trustedOrigins } from "./auth-config";

export { DEV_SECRET, trustedOrigins } from "./auth-config";

export const databaseUrl = () => process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/taskfleet";

export const authOptions = {
  appName: "taskfleet",
  baseURL: authBaseUrl(),
  // Throws outside development when BETTER_AUTH_SECRET is missing or weak (instrumentation.ts
  // checks the same at server start, so the server does not come up at all).
  secret: resolveAuthSecret(),
  database: new Pool({ connectionString: databaseUrl(), max: 10 }),
  trustedOrigins: trustedOrigins(),
  emailAndPassword: { enabled: true, minPasswordLength: 8, autoSignIn: true },
  session: { expiresIn: 60 * 60 * 24 * 30, updateAge: 60 * 60 * 24 },
  telemetry: { enabled: false },
  // The services verify these EdDSA tokens against /api/auth/jwks (AUTH_JWKS_URL); sub = user id.
  plugins: [jwt({ jwt: { expirationTime: "15m" } }), nextCookies()],
} satisfies Parameters<typeof betterAuth>[0];

export const auth = betterAuth(authOptions);
