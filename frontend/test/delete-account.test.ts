// @vitest-environment node
// Deleting an account: the password first, then backend-api's erasure (which tells every other
// service), then the Better Auth user; a failure stops the sequence where it is.
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { appRequest, fakeAuth, jsonResponse, recordingFetch, wrongPassword } from "./server-fakes";

// Better Auth is faked; the wrong passwords are counted in a real database, as in production.
const database = vi.hoisted(() =>
  import("./test-database").then(async ({ freshDatabase }) => {
    const db = await freshDatabase();
    await (await import("@/lib/server/attempts")).ensureAttemptsTable(db.pool);
    return db;
  }),
);
vi.mock("@/lib/server/auth", async () => ({
  ...(await import("./server-fakes")).authModule,
  authDatabase: (await database).pool,
}));
afterAll(async () => (await database).drop());

const route = await import("@/app/api/account/route");

const del = (body: unknown, origin?: string) =>
  route.DELETE(appRequest("/api/account", { method: "DELETE", body: JSON.stringify(body), origin }));

beforeEach(() => {
  vi.stubEnv("DAPR_HTTP_PORT", "");
  vi.stubEnv("BACKEND_API_URL", "");
  vi.stubEnv("BETTER_AUTH_URL", "");
  vi.stubEnv("BETTER_AUTH_TRUSTED_ORIGINS", "");
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.clearAllMocks();
});

describe("DELETE /api/account", () => {
  it("checks the password, erases the data in backend-api, then deletes the user: 204", async () => {
    const fetchMock = recordingFetch(() => new Response(null, { status: 204 }));
    const res = await del({ password: "correct horse battery" });
    expect(res.status).toBe(204);
    expect(fakeAuth.api.verifyPassword.mock.calls[0]![0].body).toEqual({ password: "correct horse battery" });
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("http://127.0.0.1:8000/api/account");
    expect(init?.method).toBe("DELETE");
    expect(new Headers(init?.headers).get("authorization")).toBe("Bearer user-jwt");
    expect(fakeAuth.api.deleteUser).toHaveBeenCalledTimes(1);
    const order = [
      fakeAuth.api.verifyPassword.mock.invocationCallOrder[0]!,
      fetchMock.mock.invocationCallOrder[0]!,
      fakeAuth.api.deleteUser.mock.invocationCallOrder[0]!,
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("a wrong password deletes nothing", async () => {
    const fetchMock = recordingFetch();
    fakeAuth.api.verifyPassword.mockRejectedValueOnce(wrongPassword());
    const res = await del({ password: "guess" });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("wrong_password");
    expect(fetchMock).not.toHaveBeenCalled();
    expect(fakeAuth.api.deleteUser).not.toHaveBeenCalled();
  });

  it("after 5 wrong passwords in 15 minutes the checks stop (429), whatever the password, until the window ends", async () => {
    vi.useFakeTimers({ now: new Date("2026-12-04T10:00:00Z"), toFake: ["Date"] });
    const signedIn = fakeAuth.api.getSession.getMockImplementation()!;
    try {
      const fetchMock = recordingFetch(() => new Response(null, { status: 204 }));
      fakeAuth.api.getSession.mockResolvedValue({ user: { id: "guessed-user" } });
      for (let i = 0; i < 5; i++) {
        fakeAuth.api.verifyPassword.mockRejectedValueOnce(wrongPassword());
        expect((await del({ password: `guess ${i}` })).status).toBe(403);
      }
      vi.setSystemTime(new Date("2026-12-04T10:10:00Z"));
      const refused = await del({ password: "correct horse battery" });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error).toEqual({
        code: "too_many_attempts",
        message: "Too many wrong passwords. Nothing was deleted; try again in 5 min.",
      });
      expect(refused.headers.get("retry-after")).toBe("300");
      expect(fakeAuth.api.verifyPassword).toHaveBeenCalledTimes(5);
      expect(fetchMock).not.toHaveBeenCalled();

      // Another user is not held back by them.
      fakeAuth.api.getSession.mockResolvedValueOnce({ user: { id: "someone-else" } });
      expect((await del({ password: "correct horse battery" })).status).toBe(204);

      // The window over, the right password goes through.
      vi.setSystemTime(new Date("2026-12-04T10:15:00Z"));
      expect((await del({ password: "correct horse battery" })).status).toBe(204);
    } finally {
      fakeAuth.api.getSession.mockImplementation(signedIn);
      vi.useRealTimers();
    }
  });

  it("wrong passwords sent at the same time count too", async () => {
    const signedIn = fakeAuth.api.getSession.getMockImplementation()!;
    const checks = fakeAuth.api.verifyPassword.getMockImplementation()!;
    try {
      recordingFetch(() => new Response(null, { status: 204 }));
      fakeAuth.api.getSession.mockResolvedValue({ user: { id: "parallel-guesser" } });
      fakeAuth.api.verifyPassword.mockImplementation(async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw wrongPassword();
      });
      const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => del({ password: `guess ${i}` }).then((r) => r.status)));
      expect(statuses.filter((s) => s === 403)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      expect(fakeAuth.api.verifyPassword).toHaveBeenCalledTimes(5);
    } finally {
      fakeAuth.api.getSession.mockImplementation(signedIn);
      fakeAuth.api.verifyPassword.mockImplementation(checks);
    }
  });

  it("a password that could not be checked is no guess: 503, nothing deleted, no attempt counted", async () => {
    const signedIn = fakeAuth.api.getSession.getMockImplementation()!;
    try {
      const fetchMock = recordingFetch(() => new Response(null, { status: 204 }));
      fakeAuth.api.getSession.mockResolvedValue({ user: { id: "auth-database-down" } });
      for (let i = 0; i < 6; i++) {
        fakeAuth.api.verifyPassword.mockRejectedValueOnce(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
        const res = await del({ password: "correct horse battery" });
        expect(res.status).toBe(503);
        expect((await res.json()).error.code).toBe("unavailable");
      }
      expect(fetchMock).not.toHaveBeenCalled();
      expect(fakeAuth.api.deleteUser).not.toHaveBeenCalled();
      // Six failed checks counted as guesses would have closed the window (429).
      expect((await del({ password: "correct horse battery" })).status).toBe(204);
    } finally {
      fakeAuth.api.getSession.mockImplementation(signedIn);
    }
  });

  it("no password, or no session, or another site: refused before anything", async () => {
    const fetchMock = recordingFetch();
    expect((await del({})).status).toBe(422);
    expect((await del({ password: "x".repeat(300) })).status).toBe(422);
    fakeAuth.api.getSession.mockResolvedValueOnce(null);
    expect((await del({ password: "correct horse battery" })).status).toBe(401);
    expect((await del({ password: "correct horse battery" }, "https://evil.example")).status).toBe(403);
    expect(fakeAuth.api.verifyPassword).not.toHaveBeenCalled();
    expect(fetchMock).not.toHaveBeenCalled();
    expect(fakeAuth.api.deleteUser).not.toHaveBeenCalled();
  });

  it("when backend-api cannot erase, the account stays (the user can try again)", async () => {
    recordingFetch(() => jsonResponse({ error: { code: "internal_error", message: "down" } }, 503));
    const res = await del({ password: "correct horse battery" });
    expect(res.status).toBe(503);
    expect(fakeAuth.api.deleteUser).not.toHaveBeenCalled();
  });
});
