// @vitest-environment node
// The service worker (public/sw.js), run against a fake `self`: what a push shows, and what a
// click on the notification or one of its snooze actions does.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";

const SOURCE = readFileSync(path.join(__dirname, "..", "public", "sw.js"), "utf8");
const ORIGIN = "https://tasks.example";

/** A window, and what it answers the worker's question whether its live connection is up
 * (`"silent"`: nothing, as a page that is still loading). */
type Window = { url: string; focused?: boolean; visibilityState?: "visible" | "hidden"; live?: boolean | "silent" };

function worker({ windows = [] as Window[], fetchStatus = 200 } = {}) {
  const listeners: Record<string, (event: unknown) => void> = {};
  const clients = windows.map((w) => {
    const client = {
      url: w.url,
      focused: w.focused ?? false,
      visibilityState: w.visibilityState ?? "hidden",
      focus: vi.fn(async () => client),
      navigate: vi.fn(async (_: string) => client),
      postMessage: vi.fn((message: { type?: string }, [port]: MessagePort[]) => {
        if (message.type === "taskfleet:live?" && w.live !== undefined && w.live !== "silent") {
          port!.postMessage({ live: w.live });
        }
      }),
    };
    return client;
  });
  const self = {
    location: { origin: ORIGIN },
    registration: { showNotification: vi.fn(async (_title: string, _options?: unknown) => undefined) },
    clients: {
      matchAll: vi.fn(async () => clients),
      openWindow: vi.fn(async (_: string) => null),
      claim: vi.fn(async () => undefined),
    },
    skipWaiting: vi.fn(),
    addEventListener: (type: string, fn: (event: unknown) => void) => (listeners[type] = fn),
  };
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(null, { status: fetchStatus }));
  new Function("self", "fetch", SOURCE)(self, fetchMock);
  const dispatch = async (type: string, event: Record<string, unknown>) => {
    let done: Promise<unknown> = Promise.resolve();
    listeners[type]!({ ...event, waitUntil: (p: Promise<unknown>) => (done = p) });
    await done;
  };
  return { self, clients, fetchMock, dispatch };
}

const reminder = {
  type: "reminder.due",
  task_id: "0191d6a4-7f2e-7b8a-9c1d-2e3f4a5b6c7d",
  title: "Water the plants",
  tag: "reminder-0191d6a4-7f2e-7b8a-9c1d-2e3f4a5b6c7d",
  due_date: null,
};

describe("the service worker", () => {
  it("shows a pushed reminder under its task's tag, with snooze actions and the task's URL", async () => {
    const { self, dispatch } = worker();
    await dispatch("push", { data: { json: () => reminder } });
    const [title, options] = self.registration.showNotification.mock.calls[0]! as [string, Record<string, unknown>];
    expect(title).toBe("Water the plants");
    expect(options.tag).toBe(reminder.tag);
    expect(options.data).toEqual({ task_id: reminder.task_id, url: `/tasks?task=${reminder.task_id}` });
    expect((options.actions as { action: string }[]).map((a) => a.action)).toEqual(["snooze-10m", "snooze-1h"]);
  });

  it("shows nothing while a page of the app has the focus and its live connection (it shows the reminder), and shows it otherwise", async () => {
    const inFront = worker({
      windows: [
        { url: `${ORIGIN}/settings`, focused: false, visibilityState: "hidden", live: true },
        { url: `${ORIGIN}/tasks?task=1`, focused: true, visibilityState: "visible", live: true },
      ],
    });
    await inFront.dispatch("push", { data: { json: () => reminder } });
    expect(inFront.self.registration.showNotification).not.toHaveBeenCalled();
    // Only the page in front is asked.
    expect(inFront.clients[0]!.postMessage).not.toHaveBeenCalled();
    expect(inFront.clients[1]!.postMessage).toHaveBeenCalledTimes(1);

    // The app moves between its pages without loading another: a client's URL can be the page
    // it was loaded with (sign-up) while it shows the tasks. Its answer is what counts.
    const movedOn = worker({ windows: [{ url: `${ORIGIN}/sign-up`, focused: true, visibilityState: "visible", live: true }] });
    await movedOn.dispatch("push", { data: { json: () => reminder } });
    expect(movedOn.self.registration.showNotification).not.toHaveBeenCalled();

    for (const windows of [
      [{ url: `${ORIGIN}/tasks`, focused: false, visibilityState: "hidden" as const, live: true }],
      [{ url: `${ORIGIN}/tasks`, focused: false, visibilityState: "visible" as const, live: true }],
      [{ url: "https://elsewhere.example/tasks", focused: true, visibilityState: "visible" as const, live: true }],
      // A page that is not the signed-in app (sign-in) does not answer.
      [{ url: `${ORIGIN}/sign-in`, focused: true, visibilityState: "visible" as const, live: "silent" as const }],
      // In front, but its connection is down (no toast comes), or it does not answer in time.
      [{ url: `${ORIGIN}/tasks`, focused: true, visibilityState: "visible" as const, live: false }],
      [{ url: `${ORIGIN}/tasks`, focused: true, visibilityState: "visible" as const, live: "silent" as const }],
    ]) {
      const behind = worker({ windows });
      await behind.dispatch("push", { data: { json: () => reminder } });
      expect(behind.self.registration.showNotification, JSON.stringify(windows)).toHaveBeenCalledTimes(1);
    }
  });

  it("still shows something for a push it cannot read (the browser requires it)", async () => {
    const { self, dispatch } = worker();
    await dispatch("push", { data: { json: () => JSON.parse("not json") } });
    expect(self.registration.showNotification).toHaveBeenCalledTimes(1);
  });

  const click = (action = "") => ({
    action,
    notification: { data: { task_id: reminder.task_id, url: `/tasks?task=${reminder.task_id}` }, close: vi.fn() },
  });

  it("a click opens the task in the open tab of the app and focuses it", async () => {
    const { clients, self, dispatch } = worker({ windows: [{ url: "https://elsewhere.example/" }, { url: `${ORIGIN}/settings` }] });
    const event = click();
    await dispatch("notificationclick", event);
    expect(event.notification.close).toHaveBeenCalled();
    expect(clients[1]!.navigate).toHaveBeenCalledWith(`${ORIGIN}/tasks?task=${reminder.task_id}`);
    expect(clients[1]!.focus).toHaveBeenCalled();
    expect(self.clients.openWindow).not.toHaveBeenCalled();
  });

  it("with no tab of the app open, a click opens one", async () => {
    const { self, dispatch } = worker();
    await dispatch("notificationclick", click());
    expect(self.clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/tasks?task=${reminder.task_id}`);
  });

  it("a snooze action snoozes the task through the API and opens nothing", async () => {
    const { self, fetchMock, dispatch } = worker();
    await dispatch("notificationclick", click("snooze-1h"));
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe(`/api/tasks/${reminder.task_id}/snooze`);
    expect(init?.method).toBe("POST");
    expect(JSON.parse(String(init?.body))).toEqual({ for: "1h" });
    expect(self.clients.openWindow).not.toHaveBeenCalled();
  });

  it("a snooze that is refused (signed out, task gone) opens the task instead", async () => {
    const { self, dispatch } = worker({ fetchStatus: 401 });
    await dispatch("notificationclick", click("snooze-10m"));
    expect(self.clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/tasks?task=${reminder.task_id}`);
  });
});
