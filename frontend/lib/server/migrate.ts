import { getMigrations } from "better-auth/db/migration";
import { ensureAttemptsTable } from "./attempts";
import { authDatabase, authOptions } from "./auth";

export async function migrateAuth(): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(authOptions);
      if (toBeCreated.length || toBeAdded.length) {
        await runMigrations();
        console.log(
          `better-auth: migrated (${[...toBeCreated, ...toBeAdded].map((t) => t.table).join(", ")}) in ${Date.now() - started} ms`,
        );
      }
      await ensureAttemptsTable(authDatabase);
      return;
    } catch (e) {
      if (attempt >= 10) throw e;
      console.warn(`better-auth: migration attempt ${attempt} failed (${e instanceof Error ? e.message : e}); retrying`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}
