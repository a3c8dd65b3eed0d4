import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { nextCookies } from "better-auth/next-js";
import { Pool } from "pg";
import { authBaseUrl, resolveAuthSecret, trustedOrigins } from "./auth-config";
import { mailer, resetPasswordMail, verifyEmailMail } from "./mail";

export { DEV_SECRET, trustedOrigins } from "./auth-config";

export const databaseUrl = () => process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/taskfleet";

/** Null when this server cannot send mail: password reset and verification are then off. */
const sendMail = mailer();

/** Whether accounts can get mail (reset links, verification): the UI offers those only then. */
export const mailEnabled = () => sendMail !== null;

/** Better Auth's database, where the app also counts wrong passwords (lib/server/attempts.ts). */
export const authDatabase = new Pool({ connectionString: databaseUrl(), max: 10 });
// An idle connection the server ended (a restart, a failover) is dropped by the pool and the
// next query connects again; without a listener the 'error' event would end the whole server.
authDatabase.on("error", (e) => console.warn("auth database: an idle connection failed:", e.message));

export const authOptions = {
  appName: "taskfleet",
  baseURL: authBaseUrl(),
  // Throws outside development when BETTER_AUTH_SECRET is missing or weak (instrumentation.ts
  // checks the same at server start, so the server does not come up at all).
  secret: resolveAuthSecret(),
  database: authDatabase,
  trustedOrigins: trustedOrigins(),
  emailAndPassword: {
    enabled: true,
    minPasswordLength: 8,
    autoSignIn: true,
    // A reset link is valid for an hour, once; using it signs the account out everywhere.
    resetPasswordTokenExpiresIn: 60 * 60,
    revokeSessionsOnPasswordReset: true,
    ...(sendMail && {
      sendResetPassword: async ({ user, url }: { user: { email: string; name: string }; url: string }) =>
        sendMail(resetPasswordMail(user.email, user.name, url)),
    }),
  },
  // A new account is asked to confirm its address (the app shows a banner until it has); signing
  // in does not wait for it.
  ...(sendMail && {
    emailVerification: {
      sendOnSignUp: true,
      autoSignInAfterVerification: true,
      expiresIn: 60 * 60 * 24,
      sendVerificationEmail: async ({ user, url }: { user: { email: string; name: string }; url: string }) =>
        sendMail(verifyEmailMail(user.email, user.name, url)),
    },
  }),
  // Deleting an account goes through /api/account, which checks the password, erases the data
  // in every service and then deletes the user here (with every session of it).
  // Better Auth's own /delete-user would delete the user without erasing their data: closed to
  // browsers (a server call from /api/account still reaches it).
  user: { deleteUser: { enabled: true } },
  disabledPaths: ["/delete-user", "/delete-user/callback"],
  session: { expiresIn: 60 * 60 * 24 * 30, updateAge: 60 * 60 * 24 },
  telemetry: { enabled: false },
  // The services verify these EdDSA tokens against /api/auth/jwks (AUTH_JWKS_URL); sub = user id.
  plugins: [jwt({ jwt: { expirationTime: "15m" } }), nextCookies()],
} satisfies Parameters<typeof betterAuth>[0];

export const auth = betterAuth(authOptions);
