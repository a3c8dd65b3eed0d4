import { isAPIError } from "better-auth/api";
import { FailedAttempts } from "@/lib/server/attempts";
import { auth, authDatabase } from "@/lib/server/auth";
import { errorResponse } from "@/lib/server/errors";
import { callService } from "@/lib/server/forward";
import { refuseCrossSite } from "@/lib/server/origin";

export const dynamic = "force-dynamic";

/** Longer than any password the sign-up form takes; a longer one is refused before hashing. */
const MAX_PASSWORD = 256;

/** Wrong passwords given here, per user and across every replica: after 5 in 15 minutes the
 * checks stop (429) until the window ends, whatever the password. */
const attempts = new FailedAttempts(authDatabase);

/**
 * Deletes the signed-in user's account, given their password (`{"password"}`): 204.
 *
 * 1. The password is checked (Better Auth's `verifyPassword`): a stolen session alone does not
 *    delete an account, nor can it try passwords without end (5 wrong ones in 15 minutes, then
 *    429 with `Retry-After`).
 * 2. backend-api's `DELETE /api/account` erases the user's tasks and every other row it keeps,
 *    and publishes `user-deleted`, on which the other services erase theirs (the audit trail
 *    keeps a tombstone) and the websocket service tells every open page.
 * 3. Better Auth deletes the user and every session of it (this browser's cookie is cleared
 *    in this answer).
 *
 * If step 2 fails, nothing was deleted and the user can try again; if step 3 fails after it,
 * the data is gone and repeating the request (step 2 is idempotent) finishes the job.
 */
export async function DELETE(req: Request) {
  const refused = refuseCrossSite(req);
  if (refused) return refused;
  const session = await auth.api.getSession({ headers: req.headers }).catch(() => null);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to continue.");
  const body: unknown = await req.json().catch(() => null);
  const password = (body as { password?: unknown } | null)?.password;
  if (typeof password !== "string" || password.length === 0 || password.length > MAX_PASSWORD) {
    return errorResponse(422, "invalid_password", "Enter your password to delete the account.");
  }
  const wait = await attempts.attempt(session.user.id).catch((e: unknown) => {
    console.error("counting a password attempt failed:", e instanceof Error ? e.message : e);
    return null;
  });
  if (wait === null) return errorResponse(503, "unavailable", "Nothing was deleted; try again in a moment.");
  if (wait > 0) {
    const minutes = Math.ceil(wait / 60);
    return errorResponse(
      429,
      "too_many_attempts",
      `Too many wrong passwords. Nothing was deleted; try again in ${minutes} min.`,
      { "Retry-After": String(wait) },
    );
  }
  const check = await auth.api
    .verifyPassword({ body: { password }, headers: req.headers })
    .then(
      () => "right" as const,
      (e: unknown) => (wrongPassword(e) ? ("wrong" as const) : e),
    );
  if (check === "wrong") return errorResponse(403, "wrong_password", "That is not your password.");
  // A right password, or one that could not be checked (the auth database is down, say), was
  // no wrong guess: its attempt is taken back. Not if this fails: one attempt too many counted
  // is the safe side.
  await attempts.succeeded(session.user.id).catch(() => undefined);
  if (check !== "right") {
    console.error("checking the password failed:", check instanceof Error ? check.message : check);
    return errorResponse(503, "unavailable", "Your password could not be checked; nothing was deleted. Try again in a moment.");
  }

  const erased = await callService(req, "backend-api", "/api/account", { method: "DELETE" });
  if (erased.status !== 204) return erased;

  try {
    await auth.api.deleteUser({ body: { password }, headers: req.headers });
  } catch (e) {
    console.error("deleting the account in Better Auth failed:", e instanceof Error ? e.message : e);
    return errorResponse(502, "account_not_deleted", "Your tasks were deleted but the account was not. Try again.");
  }
  return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
}

/** Better Auth's answer to a password that is not the user's (`INVALID_PASSWORD`), as against
 * a check that could not be made. */
function wrongPassword(e: unknown): boolean {
  return isAPIError(e) && (e.body as { code?: unknown } | undefined)?.code === "INVALID_PASSWORD";
}
