// Failed password checks, counted per user in Postgres (the database Better Auth keeps its users
// in): a stolen session must not be able to try passwords without end (each try also costs the
// server a password hash), and every replica of the app counts into the same window.

/** How many wrong passwords a user may give within {@link WINDOW_MS} before the checks stop. */
export const MAX_FAILURES = 5;
/** The window failures are counted in, from the first one; the checks resume when it ends. */
export const WINDOW_MS = 15 * 60 * 1000;

/** What the counter needs of the database: a `pg` Pool or Client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Creates the counter's table if it is missing (run at start-up with Better Auth's migrations). */
export async function ensureAttemptsTable(db: Queryable): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS password_attempts (
    user_id     text PRIMARY KEY,
    attempts    integer NOT NULL,
    window_ends timestamptz NOT NULL
  )`);
}

// One statement counts an attempt, so attempts made at the same time (each in its own request,
// on any replica) are counted one after another on the user's row. A window that has ended
// starts again at this attempt; past the limit the count stays at limit + 1, which marks the
// attempt as refused.
const ATTEMPT_SQL = `
INSERT INTO password_attempts AS a (user_id, attempts, window_ends)
VALUES ($1, 1, to_timestamp(($2::float8 + $3) / 1000))
ON CONFLICT (user_id) DO UPDATE SET
  attempts = CASE WHEN a.window_ends <= to_timestamp($2::float8 / 1000) THEN 1
                  ELSE least(a.attempts + 1, $4 + 1) END,
  window_ends = CASE WHEN a.window_ends <= to_timestamp($2::float8 / 1000)
                     THEN to_timestamp(($2::float8 + $3) / 1000) ELSE a.window_ends END
RETURNING attempts, (extract(epoch FROM window_ends) * 1000)::float8 AS ends_ms`;

/** Wrong passwords per user within a window, shared by every replica through the database. */
export class FailedAttempts {
  constructor(
    private readonly db: Queryable,
    private readonly max = MAX_FAILURES,
    private readonly windowMs = WINDOW_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Counts an attempt of `user`, before its password is checked, so that attempts made at the
   * same time count too: 0 when it may go on, else the seconds until the user may try again. A
   * password found right is taken back with {@link succeeded}.
   */
  async attempt(user: string): Promise<number> {
    const now = this.now();
    const { rows } = await this.db.query(ATTEMPT_SQL, [user, now, this.windowMs, this.max]);
    const { attempts, ends_ms } = rows[0] as { attempts: number; ends_ms: number };
    // Rows whose window ended a day ago are of no use any more (a handful: attempts are rare).
    await this.db.query("DELETE FROM password_attempts WHERE window_ends < to_timestamp($1::float8 / 1000)", [
      now - 24 * 60 * 60 * 1000,
    ]);
    return attempts > this.max ? Math.max(1, Math.ceil((ends_ms - now) / 1000)) : 0;
  }

  /** Takes back the attempt of `user` whose password was right. */
  async succeeded(user: string): Promise<void> {
    await this.db.query(
      "UPDATE password_attempts SET attempts = attempts - 1 WHERE user_id = $1 AND attempts > 0 AND window_ends > to_timestamp($2::float8 / 1000)",
      [user, this.now()],
    );
  }
}
