// "Sign out of every device" in the user menu: the agent tokens are revoked first, then every
// session, then the browser goes to /sign-in; a failed step stops it, with an error toast.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const router = vi.hoisted(() => ({ replace: vi.fn(), refresh: vi.fn(), push: vi.fn() }));
const authClient = vi.hoisted(() => ({
  revokeSessions: vi.fn(async () => ({ data: { status: true }, error: null }) as { data: unknown; error: unknown }),
  signOut: vi.fn(async () => ({ data: { success: true }, error: null })),
}));
const toast = vi.hoisted(() => ({ error: vi.fn(), success: vi.fn() }));

vi.mock("next/navigation", () => ({ useRouter: () => router, usePathname: () => "/tasks" }));
vi.mock("@/lib/auth-client", () => ({ authClient }));
vi.mock("sonner", () => ({ toast }));

const { UserMenu } = await import("@/components/app-shell");

function stubFetch(answer: () => Response) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push(`${init?.method ?? "GET"} ${new URL(String(input), "http://app").pathname}`);
      return answer();
    }),
  );
  return calls;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function signOutEverywhere() {
  render(<UserMenu user={{ id: "user-1", name: "Dora", email: "dora@example.com" }} />);
  fireEvent.click(screen.getByRole("button", { name: "Account: Dora" }));
  fireEvent.click(await screen.findByRole("menuitem", { name: "Sign out of every device" }));
}

describe("Sign out of every device", () => {
  beforeEach(() => vi.clearAllMocks());
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("revokes the agent tokens, then every session, then signs out and goes to /sign-in", async () => {
    const calls = stubFetch(() => json({ revoked: 2 }));
    await signOutEverywhere();
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/sign-in"));
    expect(calls).toEqual(["DELETE /api/agent-tokens"]);
    expect(authClient.revokeSessions).toHaveBeenCalledTimes(1);
    const fetchOrder = vi.mocked(fetch).mock.invocationCallOrder[0]!;
    expect(fetchOrder).toBeLessThan(authClient.revokeSessions.mock.invocationCallOrder[0]!);
    expect(authClient.revokeSessions.mock.invocationCallOrder[0]!).toBeLessThan(authClient.signOut.mock.invocationCallOrder[0]!);
    expect(toast.error).not.toHaveBeenCalled();
  });

  it("stays signed in, with an error toast, when the tokens could not be revoked", async () => {
    stubFetch(() => json({ error: { code: "unavailable", message: "backend-api is down" } }, 503));
    await signOutEverywhere();
    await waitFor(() => expect(toast.error).toHaveBeenCalledTimes(1));
    expect(String(toast.error.mock.calls[0]![0])).toContain("Could not revoke your agent tokens");
    expect(authClient.revokeSessions).not.toHaveBeenCalled();
    expect(authClient.signOut).not.toHaveBeenCalled();
    expect(router.replace).not.toHaveBeenCalled();
  });

  it("says so when the sessions could not be revoked, and does not pretend to have signed out", async () => {
    stubFetch(() => json({ revoked: 0 }));
    authClient.revokeSessions.mockResolvedValueOnce({ data: null, error: { status: 500, message: "Internal Server Error" } });
    await signOutEverywhere();
    await waitFor(() => expect(toast.error).toHaveBeenCalledTimes(1));
    expect(String(toast.error.mock.calls[0]![0])).toContain("could not be signed out");
    expect(authClient.signOut).not.toHaveBeenCalled();
    expect(router.replace).not.toHaveBeenCalled();
  });
});
