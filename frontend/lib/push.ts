// Reminders by Web Push on this browser: the state shown in Settings and turning it on and off.
// The browser's pieces (permission, service worker, PushManager) come in as `PushEnv`, so the
// logic runs in unit tests with fakes; `browserPushEnv` is the real one.

export type PushState =
  /** This browser has no service workers, Push API or notifications. */
  | "unsupported"
  /** The server has no VAPID key: push is off for everyone. */
  | "unavailable"
  /** The user blocked notifications for the app (only the browser's settings undo that). */
  | "denied"
  | "off"
  | "on";

/** The browser's `PushSubscription`, as far as it is used here. */
export interface SubscriptionLike {
  endpoint: string;
  options?: { applicationServerKey?: ArrayBuffer | null };
  toJSON(): unknown;
  unsubscribe(): Promise<boolean>;
}

export interface RegistrationLike {
  pushManager: {
    getSubscription(): Promise<SubscriptionLike | null>;
    subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }): Promise<SubscriptionLike>;
  };
}

export interface PushApi {
  /** The VAPID public key (base64url), or null when the server has push off. */
  publicKey(): Promise<string | null>;
  subscribe(subscription: unknown): Promise<unknown>;
  unsubscribe(endpoint: string): Promise<unknown>;
}

export interface PushEnv {
  supported(): boolean;
  permission(): NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
  /** Registers /sw.js and resolves once it is active. */
  register(): Promise<RegistrationLike>;
  /** The registration made earlier, if any. */
  existing(): Promise<RegistrationLike | null>;
  api: PushApi;
}

/** base64url (no padding) → bytes, for `applicationServerKey`. */
export function base64UrlToBytes(value: string): Uint8Array {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const raw = atob(padded);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

const sameKey = (a: ArrayBuffer | null | undefined, b: Uint8Array) =>
  !!a && a.byteLength === b.length && new Uint8Array(a).every((v, i) => v === b[i]);

/**
 * What Settings shows for this browser. A subscription found here is registered with the
 * server again (cheap and idempotent): the server forgets one its push service ended.
 */
export async function pushState(env: PushEnv): Promise<PushState> {
  if (!env.supported()) return "unsupported";
  const key = await env.api.publicKey();
  if (!key) return "unavailable";
  if (env.permission() === "denied") return "denied";
  const registration = await env.existing();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription || env.permission() !== "granted" || !sameKey(subscription.options?.applicationServerKey, base64UrlToBytes(key))) {
    return "off";
  }
  await env.api.subscribe(subscription.toJSON());
  return "on";
}

/** Asks for permission, subscribes this browser with the server's key and registers it. */
export async function turnOn(env: PushEnv): Promise<PushState> {
  if (!env.supported()) return "unsupported";
  const key = await env.api.publicKey();
  if (!key) return "unavailable";
  const permission = env.permission() === "default" ? await env.requestPermission() : env.permission();
  if (permission !== "granted") return permission === "denied" ? "denied" : "off";
  const bytes = base64UrlToBytes(key);
  const registration = await env.register();
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options?.applicationServerKey, bytes)) {
    // Made for another key (the server's was replaced): no push would reach it.
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes });
  await env.api.subscribe(subscription.toJSON());
  return "on";
}

/** Stops pushes to this browser: the server forgets it, then the browser drops it. */
export async function turnOff(env: PushEnv): Promise<PushState> {
  const registration = await env.existing();
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription) {
    await env.api.unsubscribe(subscription.endpoint);
    await subscription.unsubscribe();
  }
  return "off";
}

/** The real browser, with `api` for the server. */
export function browserPushEnv(api: PushApi): PushEnv {
  return {
    supported: () =>
      typeof window !== "undefined" && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window,
    permission: () => Notification.permission,
    requestPermission: () => Notification.requestPermission(),
    register: async () => {
      await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      return (await navigator.serviceWorker.ready) as unknown as RegistrationLike;
    },
    existing: async () => ((await navigator.serviceWorker.getRegistration("/")) as unknown as RegistrationLike | undefined) ?? null,
    api,
  };
}
