// Acting on a reminder: snoozing it (the server moves the task's reminder, so it fires again
// then) and opening its task. Shared by the toast, the notification list and the desktop alert.
import type { Notification, Page, Task } from "./types";

export const SNOOZE_CHOICES = [
  { for: "10m", label: "10 min", long: "Snooze for 10 minutes" },
  { for: "1h", label: "1 hour", long: "Snooze for 1 hour" },
  { for: "tomorrow", label: "Tomorrow", long: "Snooze until tomorrow at 9:00" },
] as const;

export type SnoozeFor = (typeof SNOOZE_CHOICES)[number]["for"];

/** What snoozing needs of the API (the real `api`, or a fake in tests). */
export interface ReminderApi {
  snoozeTask(id: string, snoozeFor: SnoozeFor): Promise<Task>;
  notifications(unread: boolean): Promise<Page<Notification>>;
  markRead(id: string): Promise<unknown>;
}

/**
 * Snoozes the task's reminder and marks its unread notifications read (the reminder that fired
 * is dealt with; the snoozed one brings a new notification). Marking read is best effort: the
 * snooze stands even if it fails.
 */
export async function snoozeReminder(client: ReminderApi, taskId: string, snoozeFor: SnoozeFor): Promise<Task> {
  const task = await client.snoozeTask(taskId, snoozeFor);
  const unread = await client.notifications(true).catch(() => null);
  await Promise.all(
    (unread?.items ?? [])
      .filter((n) => n.task_id === taskId && !n.read)
      .map((n) => client.markRead(n.id).catch(() => undefined)),
  );
  return task;
}

/** The tasks page with the task's dialog open. */
export function taskHref(taskId: string): string {
  return `/tasks?task=${encodeURIComponent(taskId)}`;
}
