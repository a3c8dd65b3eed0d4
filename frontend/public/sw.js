// taskfleet's service worker: reminders that arrive by Web Push while no tab is open.
//
// The notification service posts each fired reminder, encrypted for this browser, to its push
// service; the browser decrypts it and wakes this worker with a `push` event. While a tab of the
// app is in front of the user, that page shows the reminder itself (a toast from its live
// connection), and the worker shows nothing. Otherwise the worker shows it under a tag of the task (a redelivered push replaces the notification instead of adding a
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
  if (await appInFront()) return undefined;
  return self.registration.showNotification(shown.title, shown.options);
}

/** The pages of the signed-in app: each shows a reminder as a toast (the notification bell). */
const APP_PAGES = ["/tasks", "/activity", "/trash", "/settings"];

/** Whether a page of the app is visible and has the focus: it shows the reminder (a toast), and a
 * system notification would show it a second time. A sign-in page in front shows nothing. */
async function appInFront() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return windows.some((c) => {
    const url = new URL(c.url);
    const appPage = APP_PAGES.some((page) => url.pathname === page || url.pathname.startsWith(`${page}/`));
    return c.focused && c.visibilityState === "visible" && url.origin === self.location.origin && appPage;
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
