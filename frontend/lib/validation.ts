// Client-side validation mirroring the API's rules (docs/contract.md §4), so mistakes are shown
// next to the field before a round trip. The API stays the authority: its 422 details are shown
// the same way.
import { isValidTimeZone, localInputToUtc } from "./datetime";
import { parseRule, PRESETS } from "./recurrence";

export const LIMITS = { title: 200, description: 10_000, tags: 20, tag: 50 } as const;

export interface TaskFormValues {
  title: string;
  description: string;
  priority: "low" | "medium" | "high";
  tags: string[];
  due: string; // datetime-local wall clock in `timezone`, or ""
  reminder: string; // datetime-local wall clock in `timezone`, or ""
  recurrence: string; // "" | preset | RRULE body
  recurringMode: "schedule" | "completion";
  recurringEnd: string; // datetime-local or ""
  timezone: string;
}

export type FormErrors = Partial<Record<keyof TaskFormValues | "form", string>>;

export function normalizeTag(raw: string): string {
  return raw.trim().replace(/^#/, "").toLowerCase();
}

export function validateTaskForm(v: TaskFormValues, opts: { now?: number; isNew?: boolean } = {}): FormErrors {
  const e: FormErrors = {};
  const title = v.title.trim();
  if (!title) e.title = "Give the task a title.";
  else if (title.length > LIMITS.title) e.title = `Keep the title under ${LIMITS.title} characters.`;
  if (v.description.length > LIMITS.description) e.description = `The description is limited to ${LIMITS.description.toLocaleString("en")} characters.`;
  if (v.tags.length > LIMITS.tags) e.tags = `At most ${LIMITS.tags} tags.`;
  else if (v.tags.some((t) => !t || t.length > LIMITS.tag)) e.tags = `Each tag must be 1–${LIMITS.tag} characters.`;
  if (!isValidTimeZone(v.timezone)) e.timezone = "Choose a valid time zone.";
  const tz = e.timezone ? "UTC" : v.timezone;
  const due = v.due ? localInputToUtc(v.due, tz) : null;
  if (v.due && !due) e.due = "Enter a valid date and time.";
  const reminder = v.reminder ? localInputToUtc(v.reminder, tz) : null;
  if (v.reminder && !reminder) e.reminder = "Enter a valid date and time.";
  else if (reminder && due && Date.parse(reminder) > Date.parse(due)) e.reminder = "The reminder should not be after the due time.";
  else if (reminder && opts.isNew && Date.parse(reminder) < (opts.now ?? Date.now()) - 60_000)
    e.reminder = "This reminder is in the past.";
  if (v.recurrence) {
    const isPreset = (PRESETS as readonly string[]).includes(v.recurrence);
    if (!isPreset && !parseRule(v.recurrence)) e.recurrence = "This repeat rule is not valid.";
    else if (!v.due) e.due = "A repeating task needs a due date to start from.";
    if (v.recurringEnd) {
      const end = localInputToUtc(v.recurringEnd, tz);
      if (!end) e.recurringEnd = "Enter a valid end date.";
      else if (due && Date.parse(end) < Date.parse(due)) e.recurringEnd = "The series must end after it starts.";
    }
  }
  return e;
}

export function validateSignUp(v: { name: string; email: string; password: string }): Record<string, string> {
  const e: Record<string, string> = {};
  if (!v.name.trim()) e.name = "Tell us your name.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email.trim())) e.email = "Enter a valid email address.";
  if (v.password.length < 8) e.password = "Use at least 8 characters.";
  else if (v.password.length > 128) e.password = "Use at most 128 characters.";
  return e;
}

export function validateSignIn(v: { email: string; password: string }): Record<string, string> {
  const e: Record<string, string> = {};
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email.trim())) e.email = "Enter a valid email address.";
  if (!v.password) e.password = "Enter your password.";
  return e;
}

/** Maps the API's 422 `details` (field → message) onto form fields. */
export function apiDetailsToErrors(details: unknown): FormErrors {
  const e: FormErrors = {};
  if (!details || typeof details !== "object") return e;
  const map: Record<string, keyof TaskFormValues> = {
    title: "title",
    description: "description",
    priority: "priority",
    tags: "tags",
    due_date: "due",
    reminder_at: "reminder",
    recurring_rule: "recurrence",
    recurring_mode: "recurringMode",
    recurring_end_date: "recurringEnd",
    timezone: "timezone",
  };
  for (const [k, msg] of Object.entries(details as Record<string, unknown>)) {
    const field = map[k.split(/[.[]/)[0] ?? k];
    if (field && typeof msg === "string") e[field] = msg;
    else if (typeof msg === "string") e.form = msg;
  }
  return e;
}
