// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeAuth } from "./server-fakes";

vi.mock("@/lib/server/auth", async () => (await import("./server-fakes")).authModule);

const health = await import("@/app/api/health/route");

describe("GET /api/health", () => {
  afterEach(() => vi.restoreAllMocks());

  it("answers ok when the database answers", async () => {
    const res = await health.GET();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers 503 without the database's error, which goes to the log instead", async () => {
    const secretish = 'password authentication failed for user "taskfleet_admin" at db-7.internal:5432';
    const ctx = await fakeAuth.$context;
    vi.spyOn(ctx.adapter, "count").mockRejectedValueOnce(new Error(secretish));
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await health.GET();
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: "unavailable" });
    expect(text).not.toContain("taskfleet_admin");
    expect(logged).toHaveBeenCalledWith(expect.any(String), expect.stringContaining(secretish));
  });
});
