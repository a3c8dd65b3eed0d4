// What an open page does when it hears that its account was deleted (the `account.deleted`
// push): go to the sign-in page, which says what happened, once the session is gone.
//
// The push can arrive before the deletion has finished: backend-api publishes `user-deleted`
// when it has erased the data, while the app is still deleting the user and its sessions. A page
// that left at once would be sent back to /tasks by a session that is about to end, so it waits
// for the session to be gone, for a bounded time (after which it goes anyway: its data is gone).

/** Where a page goes when its account was deleted. */
export const ACCOUNT_DELETED_URL = "/sign-in?notice=account-deleted";

export interface LeaveOptions {
  /** Whether the browser still has a session (`false` once the app deleted it). */
  hasSession: () => Promise<boolean>;
  go: (url: string) => void;
  sleep?: (ms: number) => Promise<void>;
  tries?: number;
  intervalMs?: number;
}

export async function leaveDeletedAccount({
  hasSession,
  go,
  sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  tries = 30,
  intervalMs = 500,
}: LeaveOptions): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const still = await hasSession().catch(() => true);
    if (!still) break;
    await sleep(intervalMs);
  }
  go(ACCOUNT_DELETED_URL);
}
