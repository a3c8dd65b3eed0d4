// Start-up checks of the Node.js server (instrumentation.ts), kept out of instrumentation.ts itself
// because that file is also compiled for the Edge runtime, which has no process.exit.
import { resolveAuthSecret } from "./auth-config";

/**
 * Exits the process when resolveAuthSecret refuses the environment. A throw from register()
 * would leave Next listening and answering every request with a 500; a supervisor (or the person
 * at the terminal) should see that the server did not start, and why.
 */
export function exitWithoutAuthSecret(env: NodeJS.ProcessEnv = process.env): void {
  try {
    resolveAuthSecret(env);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
