// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEV_SECRET, resolveAuthSecret } from "@/lib/server/auth-config";

const STRONG = "Zq3v9wX2Lr8TkP0mYb6NcH1sJd4Fg7Ue5Aa"; // 35 characters

describe("resolveAuthSecret", () => {
  it("uses BETTER_AUTH_SECRET whenever it is set and good", () => {
    expect(resolveAuthSecret({ NODE_ENV: "production", BETTER_AUTH_SECRET: STRONG })).toBe(STRONG);
    expect(resolveAuthSecret({ NODE_ENV: "development", BETTER_AUTH_SECRET: STRONG })).toBe(STRONG);
  });

  it("falls back to the built-in secret in development only", () => {
    expect(resolveAuthSecret({ NODE_ENV: "development" })).toBe(DEV_SECRET);
    expect(resolveAuthSecret({ NODE_ENV: "test" })).toBe(DEV_SECRET);
    expect(resolveAuthSecret({})).toBe(DEV_SECRET);
    // fleet runs the production build of the UI locally and says so.
    expect(resolveAuthSecret({ NODE_ENV: "production", TASKFLEET_ENV: "development" })).toBe(DEV_SECRET);
    expect(resolveAuthSecret({ NODE_ENV: "production", TASKFLEET_ENV: "development", BETTER_AUTH_SECRET: "short" })).toBe("short");
  });

  it.each([
    ["missing", {}, /BETTER_AUTH_SECRET is not set/],
    ["empty", { BETTER_AUTH_SECRET: "" }, /BETTER_AUTH_SECRET is not set/],
    ["the public development secret", { BETTER_AUTH_SECRET: DEV_SECRET }, /BETTER_AUTH_SECRET is the public built-in/],
    ["31 characters", { BETTER_AUTH_SECRET: "x".repeat(31) }, /BETTER_AUTH_SECRET is shorter than 32/],
  ])("refuses to start in production when the secret is %s", (_what, env, message) => {
    expect(() => resolveAuthSecret({ NODE_ENV: "production", ...env })).toThrow(message);
    // TASKFLEET_ENV other than "development" changes nothing.
    expect(() => resolveAuthSecret({ NODE_ENV: "production", TASKFLEET_ENV: "production", ...env })).toThrow(message);
  });

  it("accepts exactly 32 characters", () => {
    expect(resolveAuthSecret({ NODE_ENV: "production", BETTER_AUTH_SECRET: "y".repeat(32) })).toBe("y".repeat(32));
  });

  it("never throws during `next build`, which has no secrets", () => {
    const build = { NODE_ENV: "production", NEXT_PHASE: "phase-production-build" };
    expect(resolveAuthSecret(build)).toBe(DEV_SECRET);
    expect(resolveAuthSecret({ ...build, BETTER_AUTH_SECRET: "short" })).toBe("short");
  });
});

describe("the server refuses to start without a proper secret", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    vi.resetModules();
  });
  const production = (secret: string) => {
    vi.stubEnv("NODE_ENV", "production");
    vi.stubEnv("TASKFLEET_ENV", "");
    vi.stubEnv("NEXT_PHASE", "");
    vi.stubEnv("BETTER_AUTH_SECRET", secret);
  };

  it("instrumentation's register() exits before anything else, even with migrations skipped", async () => {
    production("");
    vi.stubEnv("NEXT_RUNTIME", "nodejs");
    vi.stubEnv("SKIP_AUTH_MIGRATIONS", "1");
    const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const { register } = await import("@/instrumentation");
    await expect(register()).rejects.toThrow("exit 1");
    expect(exit).toHaveBeenCalledWith(1);
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/BETTER_AUTH_SECRET is not set/));
  });

  it("lib/server/auth.ts does not load with the public development secret", async () => {
    production(DEV_SECRET);
    await expect(import("@/lib/server/auth")).rejects.toThrow(/BETTER_AUTH_SECRET is the public built-in/);
  });

  it("starts with TASKFLEET_ENV=development and no secret (fleet)", async () => {
    production("");
    vi.stubEnv("TASKFLEET_ENV", "development");
    vi.stubEnv("NEXT_RUNTIME", "nodejs");
    vi.stubEnv("SKIP_AUTH_MIGRATIONS", "1");
    const { register } = await import("@/instrumentation");
    await expect(register()).resolves.toBeUndefined();
  });
});
