// Short, plain-text descriptions of tool calls, their results and confirmation cards. Model and
// tool text is only ever rendered as React text (never HTML), so nothing here escapes.
import { formatDue } from "../datetime";
import { cardTasks, type CardTask, type ConfirmationCard } from "./types";

const TOOL_LABELS: Record<string, string> = {
  list_tasks: "List tasks",
  find_tasks: "Find tasks",
  get_task: "Read a task",
  add_task: "Add a task",
  update_task: "Update a task",
  complete_task: "Complete a task",
  reopen_task: "Reopen a task",
  delete_task: "Delete a task",
  delete_tasks: "Delete tasks",
  complete_tasks: "Complete tasks",
  get_stats: "Count tasks",
};

export const toolLabel = (name: string): string => TOOL_LABELS[name] ?? name.replace(/_/g, " ");

export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

const shortId = (v: unknown) => (typeof v === "string" ? v.slice(0, 8) : String(v));

function parseArgs(raw: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(raw || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `{"title":"Buy milk","when":"tomorrow 5pm","tags":["home"],"priority":"high"}` →
 * `“Buy milk” · due tomorrow 5pm · #home · high priority`. */
export function summarizeArgs(raw: string, max = 140): string {
  const args = parseArgs(raw);
  if (!args) return truncate(raw, max);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) continue;
    switch (key) {
      case "title":
      case "q":
        parts.push(`“${String(value)}”`);
        break;
      case "tags":
        parts.push((Array.isArray(value) ? value : [value]).map((t) => `#${String(t)}`).join(" "));
        break;
      case "priority":
        parts.push(`${String(value)} priority`);
        break;
      case "when":
        parts.push(value === null ? "no due date" : `due ${String(value)}`);
        break;
      case "repeat":
        parts.push(value === null ? "stops repeating" : `repeats ${String(value)}`);
        break;
      case "id":
        parts.push(`task ${shortId(value)}`);
        break;
      case "ids":
        parts.push(Array.isArray(value) ? `${value.length} task${value.length === 1 ? "" : "s"}` : `tasks ${String(value)}`);
        break;
      default:
        parts.push(`${key}: ${Array.isArray(value) ? value.join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value)}`);
    }
  }
  return truncate(parts.join(" · "), max);
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function taskLine(t: unknown): string {
  const task = obj(t);
  const title = typeof task.title === "string" ? `“${task.title}”` : "the task";
  return typeof task.due_local === "string" && task.due_local ? `${title}, due ${task.due_local}` : title;
}

/** What a finished call did, in a few words; "" when there is nothing useful to add. */
export function summarizeResult(result: unknown, max = 140): string {
  const r = obj(result);
  if ("error" in r) {
    const e = obj(r.error);
    return truncate(typeof e.message === "string" ? e.message : "The tool failed.", max);
  }
  if (r.status === "confirmation_required") return "Waiting for your confirmation";
  if (r.created) return truncate(`Created ${taskLine(r.created)}`, max);
  if (r.updated) return truncate(`Updated ${taskLine(r.updated)}`, max);
  if (r.task) return truncate(`${taskLine(r.task)}${typeof obj(r.task).status === "string" ? ` · ${String(obj(r.task).status)}` : ""}`, max);
  if (Array.isArray(r.tasks)) {
    const n = r.tasks.length;
    return `${n === 0 ? "No" : n}${r.next_cursor ? "+" : ""} task${n === 1 ? "" : "s"} found`;
  }
  if (typeof r.pending === "number") {
    return `${r.pending} open · ${Number(r.overdue ?? 0)} overdue · ${Number(r.due_today ?? 0)} due today`;
  }
  return "";
}

/** The question a card asks. */
export function cardQuestion(card: ConfirmationCard): string {
  const n = cardTasks(card).length;
  const what = n === 1 ? "this task" : `these ${n} tasks`;
  switch (card.action) {
    case "delete_task":
    case "delete_tasks":
      return `Delete ${what}?`;
    case "complete_tasks":
      return `Complete ${what}?`;
    default:
      return `${toolLabel(card.action)}: ${what}?`;
  }
}

/** What the card's decision did, for its decided state. */
export function cardOutcome(card: ConfirmationCard, status: string): string {
  const n = cardTasks(card).length;
  const noun = n === 1 ? "task" : `${n} tasks`;
  const completes = card.action === "complete_tasks";
  switch (status) {
    case "confirmed":
      return completes ? `Completed the ${noun}` : `Deleted the ${noun}`;
    case "cancelled":
      return "Cancelled — nothing was changed";
    case "expired":
      return "Expired — nothing was changed";
    case "stale":
      return "Not done: a task changed or was deleted since the card was made";
    case "gone":
      return "This card no longer exists";
    default:
      return "";
  }
}

/** "due Fri 2026-11-27 17:00 · high priority · #home", and whether it changed since the card. */
export function taskMeta(t: CardTask, now = new Date()): string {
  if (t.missing) return "deleted since";
  const due = t.due_local ? `due ${t.due_local}` : t.due_date ? `due ${formatDue(t.due_date, now)}` : "";
  return [due, t.priority && t.priority !== "medium" ? `${t.priority} priority` : "", ...(t.tags ?? []).map((x) => `#${x}`), t.changed ? "changed since" : ""]
    .filter(Boolean)
    .join(" · ");
}

/** `Retry-After` (seconds or an HTTP date) → "in 45 s", "in 3 min", "in 2 h"; "" when unknown. */
export function retryAfterText(value: string | null | undefined, now = Date.now()): string {
  if (!value) return "";
  let seconds = Number(value);
  if (!Number.isFinite(seconds)) {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return "";
    seconds = (at - now) / 1000;
  }
  seconds = Math.max(1, Math.ceil(seconds));
  if (seconds < 90) return `in ${seconds} s`;
  if (seconds < 90 * 60) return `in ${Math.round(seconds / 60)} min`;
  return `in ${Math.round(seconds / 3600)} h`;
}

/** The sentence shown when the assistant refuses a message for now (429). */
export function limitMessage(code: string, retryAfter: string | null | undefined, fallback: string): string {
  const when = retryAfterText(retryAfter);
  if (code === "token_budget_exhausted")
    return `You have used today's assistant budget. ${when ? `You can continue ${when}.` : "You can continue tomorrow."}`;
  if (code === "rate_limited") return `You are sending messages faster than the assistant allows. Try again ${when || "in a minute"}.`;
  return fallback;
}
