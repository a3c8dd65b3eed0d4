// taskfleet's service worker: reminders that arrive by Web Push while no tab is open.
//
// The notification service posts each fired reminder, encrypted for this browser, to its push
// service; the browser decrypts it and wakes this worker with a `push` event. While a tab of the
// app is in front of the user and its live connection is up, that page shows the reminder itself
// (a toast from that connection), and the worker shows nothing. Otherwise the worker shows it
// under a tag of the task (a redelivered push replaces the notification instead of adding a
// second one), with two snooze actions. A click opens the task in an open tab of the app, or a
// new one; a snooze action moves the reminder through the app's API with this browser's session.

const SNOOZES = { "snooze-10m": "10m", "snooze-1h": "1h" };

/** What the notification shows for a push payload (`null`: not one of ours). */
function notificationFor(payload) {
  if (!payload || payload.type !== "reminder.due" || typeof payload.task_id !== "string") return null;
  const due = payload.due_date ? new Date(payload.due_date) : null;
  const body = due && !Number.isNaN(due.getTime()) ? `Due ${due.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}` : "Reminder";
  return {
    title: typeof payload.title === "string" && payload.title ? payload.title : "Reminder",
    options: {
      body,
      tag: typeof payload.tag === "string" ? payload.tag : `reminder-${payload.task_id}`,
      renotify: true,
      requireInteraction: false,
      data: { task_id: payload.task_id, url: `/tasks?task=${encodeURIComponent(payload.task_id)}` },
      actions: [
        { action: "snooze-10m", title: "Snooze 10 min" },
        { action: "snooze-1h", title: "Snooze 1 hour" },
      ],
    },
  };
}

async function onPush(event) {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null;
  }
  const shown = notificationFor(payload);
  // Chromium requires every push to show something (userVisibleOnly), unless a tab of the site
  // has the focus.
  if (!shown) return self.registration.showNotification("taskfleet", { body: "Something changed in your tasks." });
  if (await appShowsIt()) return undefined;
  return self.registration.showNotification(shown.title, shown.options);
}

/** The question a page in front is asked, and how long it has to answer. Only a page of the
 * signed-in app answers (hooks/use-realtime.ts, with `{ live }`): it shows reminders as toasts. */
const LIVE_QUESTION = "taskfleet:live?";
const ANSWER_WITHIN_MS = 1000;

/** Whether a page of the app is visible, has the focus and says its live connection is up: it
 * shows the reminder (a toast), and a system notification would show it a second time. A page in
 * front whose connection is down gets no toast, and a page that does not answer (sign-in, still
 * loading) shows none, so the worker shows the notification then. The page is asked rather than
 * told apart by its URL: a client's URL is the one its document was loaded with, and the app
 * moves between its pages without loading another (from /sign-up to /tasks, say). */
async function appShowsIt() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const inFront = windows.filter(
    (c) => c.focused && c.visibilityState === "visible" && new URL(c.url).origin === self.location.origin,
  );
  const answers = await Promise.all(inFront.map(isLive));
  return answers.some(Boolean);
}

/** Asks `client` whether its live connection is up: false without an answer in time. */
function isLive(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const answer = (live) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(live);
    };
    const timer = setTimeout(() => answer(false), ANSWER_WITHIN_MS);
    channel.port1.onmessage = (event) => answer(!!event.data && event.data.live === true);
    try {
      client.postMessage({ type: LIVE_QUESTION }, [channel.port2]);
    } catch {
      answer(false);
    }
  });
}

/** Opens `url` of this origin: in a tab of the app if one is open (focused), else a new one. */
async function openInApp(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = windows.find((c) => new URL(c.url).origin === self.location.origin);
  if (same) {
    const navigated = (await same.navigate?.(target)) ?? same;
    return navigated.focus();
  }
  return self.clients.openWindow(target);
}

async function onNotificationClick(event) {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  const snooze = SNOOZES[event.action];
  if (snooze && data.task_id) {
    const response = await fetch(`/api/tasks/${encodeURIComponent(data.task_id)}/snooze`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ for: snooze }),
    });
    if (response.ok) return undefined;
    // Signed out, or the task is gone: show the task (or the sign-in page) instead.
  }
  return openInApp(data.url || "/tasks");
}

self.addEventListener("push", (event) => event.waitUntil(onPush(event)));
self.addEventListener("notificationclick", (event) => event.waitUntil(onNotificationClick(event)));
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
