"use client";
import { useEffect, useMemo, useState } from "react";
import { BellRing } from "lucide-react";
import { api } from "@/lib/api";
import { browserPushEnv, pushState, turnOff, turnOn, type PushEnv, type PushState } from "@/lib/push";
import { Button } from "../ui";

const SAYS: Record<PushState, string> = {
  unsupported: "This browser cannot show reminders while the app is closed.",
  unavailable: "Reminders while the app is closed are not set up on this server.",
  denied: "Notifications are blocked for this site. Allow them in the browser's site settings, then turn this on.",
  off: "Off on this device: reminders appear only while the app is open.",
  on: "On: reminders reach this device even when the app is closed.",
};

const pushApi = { publicKey: api.pushPublicKey, subscribe: api.pushSubscribe, unsubscribe: api.pushUnsubscribe };

/** Settings → Reminders on this device: Web Push for this browser, on or off. */
export function PushReminderSettings({ env: given }: { env?: PushEnv }) {
  const env = useMemo(() => given ?? browserPushEnv(pushApi), [given]);
  // undefined while the state is read.
  const [state, setState] = useState<PushState | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    pushState(env)
      .then((s) => live && setState(s))
      .catch(() => live && setState("off"));
    return () => {
      live = false;
    };
  }, [env]);

  const change = async (on: boolean) => {
    setBusy(true);
    setProblem(null);
    try {
      setState(await (on ? turnOn(env) : turnOff(env)));
    } catch (e) {
      setProblem(e instanceof Error ? e.message : "Could not change this setting");
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="push-heading" className="rounded-xl border border-zinc-200 bg-white p-5 dark:border-zinc-800 dark:bg-zinc-900">
      <h2 id="push-heading" className="flex items-center gap-2 text-base font-semibold">
        <BellRing className="size-4 text-brand-600" aria-hidden /> Reminders on this device
      </h2>
      <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">
        A system notification for each reminder, also when no tab of the app is open. Snooze it from the notification, or
        click it to open the task.
      </p>
      <p role="status" data-testid="push-state" data-state={state ?? "loading"} className="mt-3 text-sm">
        {state ? SAYS[state] : "Checking this browser…"}
      </p>
      {problem && (
        <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">
          {problem}
        </p>
      )}
      {(state === "off" || state === "denied") && (
        <Button variant="primary" className="mt-3" loading={busy} onClick={() => void change(true)}>
          Turn on
        </Button>
      )}
      {state === "on" && (
        <Button className="mt-3" loading={busy} onClick={() => void change(false)}>
          Turn off
        </Button>
      )}
    </section>
  );
}
