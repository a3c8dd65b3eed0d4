// Failed password checks, counted per user: a stolen session must not be able to try passwords
// without end (each try also costs the server a password hash).

/** How many wrong passwords a user may give within {@link WINDOW_MS} before the checks stop. */
export const MAX_FAILURES = 5;
/** The window failures are counted in, from the first one; the checks resume when it ends. */
export const WINDOW_MS = 15 * 60 * 1000;
/** Past this many users with failures, those whose window ended are forgotten. */
const PRUNE_PAST = 10_000;

/**
 * Wrong passwords per user within a window, in this server process (a deployment of several
 * replicas allows each of them as many: the limit bounds guessing, it does not count exactly).
 */
export class FailedAttempts {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max = MAX_FAILURES,
    private readonly windowMs = WINDOW_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Counts an attempt of `user`, before its password is checked, so that attempts made at the
   * same time count too: 0 when it may go on, else the seconds until the user may try again. A
   * password found right is taken back with {@link succeeded}.
   */
  attempt(user: string): number {
    const entry = this.current(user);
    if (entry && entry.count >= this.max) return Math.ceil((entry.resetAt - this.now()) / 1000);
    if (entry) {
      entry.count += 1;
    } else {
      if (this.failures.size >= PRUNE_PAST) this.prune();
      this.failures.set(user, { count: 1, resetAt: this.now() + this.windowMs });
    }
    return 0;
  }

  /** Takes back the attempt of `user` whose password was right. */
  succeeded(user: string): void {
    const entry = this.current(user);
    if (!entry) return;
    entry.count -= 1;
    if (entry.count <= 0) this.failures.delete(user);
  }

  /** The failures of `user` in the window under way, if any. */
  private current(user: string) {
    const entry = this.failures.get(user);
    if (entry && entry.resetAt <= this.now()) {
      this.failures.delete(user);
      return undefined;
    }
    return entry;
  }

  private prune() {
    const now = this.now();
    for (const [user, entry] of this.failures) {
      if (entry.resetAt <= now) this.failures.delete(user);
    }
  }
}
