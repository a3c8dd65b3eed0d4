// The calendar feed's URL per kind of app: calendar apps (Google Calendar, Outlook, Apple
// Calendar) show events; task-aware apps (Thunderbird, Apple Reminders, DAVx⁵) read to-dos.
// Both come from the same secret URL (backend-api's `/calendar.ics?token=…[&kind=todos]`).

export type FeedKind = "events" | "todos";

/** `url` (the feed URL the server signed) for `kind`. */
export function feedUrlFor(url: string, kind: FeedKind): string {
  const u = new URL(url);
  if (kind === "todos") u.searchParams.set("kind", "todos");
  else u.searchParams.delete("kind");
  return u.toString();
}

/** The same URL for apps that subscribe with `webcal://` (Apple Calendar, Outlook). */
export function webcalUrl(url: string): string {
  return url.replace(/^https?:\/\//, "webcal://");
}
