import { describe, expect, it, vi } from "vitest";
import { ACCOUNT_DELETED_URL, leaveDeletedAccount } from "@/lib/account-deleted";

describe("leaveDeletedAccount", () => {
  it("waits until the session is gone, then goes to the sign-in notice", async () => {
    const sessions = [true, true, false];
    const hasSession = vi.fn(async () => sessions.shift() ?? false);
    const go = vi.fn();
    const sleep = vi.fn(async () => {});
    await leaveDeletedAccount({ hasSession, go, sleep });
    expect(hasSession).toHaveBeenCalledTimes(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(go).toHaveBeenCalledWith(ACCOUNT_DELETED_URL);
    expect(ACCOUNT_DELETED_URL).toBe("/sign-in?notice=account-deleted");
  });

  it("goes anyway after the last try, and counts a failed check as a session still there", async () => {
    const hasSession = vi.fn(async (): Promise<boolean> => {
      throw new Error("offline");
    });
    const go = vi.fn();
    await leaveDeletedAccount({ hasSession, go, sleep: async () => {}, tries: 4 });
    expect(hasSession).toHaveBeenCalledTimes(4);
    expect(go).toHaveBeenCalledTimes(1);
  });
});
