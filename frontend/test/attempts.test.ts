// @vitest-environment node
// The wrong-password counter (lib/server/attempts.ts) on a real Postgres database: the window,
// the limit across replicas, attempts made at the same time, and what a right password takes back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAttemptsTable, FailedAttempts } from "@/lib/server/attempts";
import { freshDatabase, type TestDatabase } from "./test-database";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await ensureAttemptsTable(db.pool);
  // Running it again (every start-up does) changes nothing.
  await ensureAttemptsTable(db.pool);
});
afterAll(async () => db?.drop());

const clock = (start: string) => {
  let now = Date.parse(start);
  return { now: () => now, set: (at: string) => (now = Date.parse(at)) };
};

describe("FailedAttempts", () => {
  it("allows 5 attempts in 15 minutes, then refuses until the window ends, for that user only", async () => {
    const time = clock("2026-12-05T10:00:00Z");
    const attempts = new FailedAttempts(db.pool, 5, 15 * 60 * 1000, time.now);
    for (let i = 0; i < 5; i++) expect(await attempts.attempt("guessed")).toBe(0);
    time.set("2026-12-05T10:10:00Z");
    expect(await attempts.attempt("guessed")).toBe(300);
    expect(await attempts.attempt("someone-else")).toBe(0);
    time.set("2026-12-05T10:14:59.500Z");
    expect(await attempts.attempt("guessed")).toBe(1);
    time.set("2026-12-05T10:15:00Z");
    expect(await attempts.attempt("guessed")).toBe(0);
  });

  it("counts the attempts of every replica into one window", async () => {
    const time = clock("2026-12-05T11:00:00Z");
    const replicas = [db.pool, db.another(), db.another()].map((pool) => new FailedAttempts(pool, 5, 15 * 60 * 1000, time.now));
    for (let i = 0; i < 5; i++) expect(await replicas[i % 3]!.attempt("spread")).toBe(0);
    for (const replica of replicas) expect(await replica.attempt("spread")).toBe(900);
  });

  it("counts attempts made at the same time one by one", async () => {
    const attempts = new FailedAttempts(db.pool);
    const other = new FailedAttempts(db.another());
    const waits = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? attempts : other).attempt("parallel")));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(waits.filter((w) => w > 0)).toHaveLength(7);
  });

  it("takes back an attempt whose password was right", async () => {
    const time = clock("2026-12-05T12:00:00Z");
    const attempts = new FailedAttempts(db.pool, 5, 15 * 60 * 1000, time.now);
    for (let i = 0; i < 20; i++) {
      expect(await attempts.attempt("rightful")).toBe(0);
      await attempts.succeeded("rightful");
    }
    for (let i = 0; i < 4; i++) expect(await attempts.attempt("rightful")).toBe(0);
    await attempts.succeeded("rightful");
    expect(await attempts.attempt("rightful")).toBe(0);
    expect(await attempts.attempt("rightful")).toBe(0);
    expect(await attempts.attempt("rightful")).toBeGreaterThan(0);
  });

  it("forgets users whose window ended a day ago", async () => {
    const time = clock("2026-12-01T09:00:00Z");
    const attempts = new FailedAttempts(db.pool, 5, 15 * 60 * 1000, time.now);
    await attempts.attempt("long-gone");
    time.set("2026-12-05T13:00:00Z");
    await attempts.attempt("today");
    const { rows } = await db.pool.query("SELECT user_id FROM password_attempts WHERE user_id IN ('long-gone', 'today')");
    expect(rows.map((r) => r.user_id)).toEqual(["today"]);
  });
});
