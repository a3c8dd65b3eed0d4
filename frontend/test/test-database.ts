// A fresh Postgres database for one test file (the one the machine runs: PG_BASE, default
// postgres://postgres@127.0.0.1:5432), dropped again with `drop()`. Its name carries
// TASKFLEET_TEST_DB_PREFIX when scripts/test sets one, so a run that dies leaves nothing that
// scripts/test does not drop at its end.
import { randomUUID } from "node:crypto";
import pg from "pg";

const base = () => (process.env.PG_BASE || "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "");

export interface TestDatabase {
  pool: pg.Pool;
  /** A second pool on the same database: another replica of the app. */
  another: () => pg.Pool;
  drop: () => Promise<void>;
}

export async function freshDatabase(): Promise<TestDatabase> {
  const prefix = /^[a-z0-9_]+$/i.test(process.env.TASKFLEET_TEST_DB_PREFIX ?? "")
    ? process.env.TASKFLEET_TEST_DB_PREFIX!
    : "taskfleet_test_";
  const name = `${prefix}vitest_${randomUUID().replaceAll("-", "")}`.toLowerCase();
  const admin = new pg.Client({ connectionString: `${base()}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const pools: pg.Pool[] = [];
  const another = () => {
    const pool = new pg.Pool({ connectionString: `${base()}/${name}`, max: 10 });
    // The drop ends the sessions of clients that are still closing: nothing to report.
    pool.on("error", () => undefined);
    pools.push(pool);
    return pool;
  };
  const pool = another();
  return {
    pool,
    another,
    drop: async () => {
      await Promise.all(pools.map((p) => p.end()));
      const admin = new pg.Client({ connectionString: `${base()}/postgres` });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
