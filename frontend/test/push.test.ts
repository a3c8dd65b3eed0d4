import { describe, expect, it, vi } from "vitest";
import { base64UrlToBytes, pushState, turnOff, turnOn, type PushEnv, type SubscriptionLike } from "@/lib/push";

const KEY = "BAX6VgYomokNr0ifFdS3YGPFvgBL31eFhhLJSwkACA86u88ppIad1Zb0hLPjnCtj2W2fQbYAIelEMiEhnobFl2I";
const OTHER = "BFkzfUpxJY8TBJ7sOSeBfD3j8DlCyz8f3FXzkWb8dh9vb9Gt4d2n0o2uR2kTTxYrZ5nQn6bnKjKv2w_ykK9V1nQ";

function fakeEnv({
  permission = "default" as NotificationPermission,
  answer = "granted" as NotificationPermission,
  key = KEY as string | null,
  existingKey = null as string | null,
  supported = true,
} = {}) {
  let current = permission;
  let subscription: SubscriptionLike | null = null;
  const make = (k: string): SubscriptionLike => {
    const s: SubscriptionLike = {
      endpoint: `https://push.example.com/${k.slice(0, 6)}`,
      options: { applicationServerKey: base64UrlToBytes(k).buffer as ArrayBuffer },
      toJSON: () => ({ endpoint: s.endpoint, keys: { p256dh: "p", auth: "a" } }),
      unsubscribe: vi.fn(async () => {
        subscription = null;
        return true;
      }),
    };
    return s;
  };
  if (existingKey) subscription = make(existingKey);
  const registration = {
    pushManager: {
      getSubscription: vi.fn(async () => subscription),
      subscribe: vi.fn(async (o: { applicationServerKey: Uint8Array }) => {
        expect(Array.from(o.applicationServerKey)).toEqual(Array.from(base64UrlToBytes(key!)));
        subscription = make(key!);
        return subscription;
      }),
    },
  };
  const api = {
    publicKey: vi.fn(async () => key),
    subscribe: vi.fn(async (_: unknown) => ({})),
    unsubscribe: vi.fn(async (_: string) => undefined),
  };
  const env: PushEnv = {
    supported: () => supported,
    permission: () => current,
    requestPermission: vi.fn(async () => (current = answer)),
    register: vi.fn(async () => registration),
    existing: async () => (existingKey || subscription ? registration : null),
    api,
  };
  return { env, api, registration, subscription: () => subscription };
}

describe("Web Push on this browser", () => {
  it("asks for permission, subscribes with the server's key and registers the subscription", async () => {
    const { env, api, registration } = fakeEnv();
    expect(await pushState(env)).toBe("off");
    expect(await turnOn(env)).toBe("on");
    expect(env.requestPermission).toHaveBeenCalledTimes(1);
    expect(registration.pushManager.subscribe).toHaveBeenCalledWith(expect.objectContaining({ userVisibleOnly: true }));
    expect(api.subscribe).toHaveBeenCalledWith({ endpoint: "https://push.example.com/BAX6Vg", keys: { p256dh: "p", auth: "a" } });
    expect(await pushState(env)).toBe("on");
  });

  it("a refused permission subscribes nothing and says so", async () => {
    const { env, registration, api } = fakeEnv({ answer: "denied" });
    expect(await turnOn(env)).toBe("denied");
    expect(registration.pushManager.subscribe).not.toHaveBeenCalled();
    expect(api.subscribe).not.toHaveBeenCalled();
    expect(await pushState(env)).toBe("denied");
  });

  it("a subscription made for an older key is replaced", async () => {
    const { env, registration, subscription } = fakeEnv({ permission: "granted", existingKey: OTHER });
    const old = subscription()!;
    expect(await pushState(env)).toBe("off");
    expect(await turnOn(env)).toBe("on");
    expect(old.unsubscribe).toHaveBeenCalled();
    expect(registration.pushManager.subscribe).toHaveBeenCalledTimes(1);
  });

  it("turning off tells the server first, then drops the browser's subscription", async () => {
    const { env, api, subscription } = fakeEnv({ permission: "granted", existingKey: KEY });
    const current = subscription()!;
    expect(await turnOff(env)).toBe("off");
    expect(api.unsubscribe).toHaveBeenCalledWith(current.endpoint);
    expect(current.unsubscribe).toHaveBeenCalled();
    expect(api.unsubscribe.mock.invocationCallOrder[0]!).toBeLessThan(vi.mocked(current.unsubscribe).mock.invocationCallOrder[0]!);
  });

  it("no server key or no browser support: nothing to turn on", async () => {
    expect(await pushState(fakeEnv({ key: null }).env)).toBe("unavailable");
    expect(await turnOn(fakeEnv({ key: null }).env)).toBe("unavailable");
    expect(await pushState(fakeEnv({ supported: false }).env)).toBe("unsupported");
  });
});
