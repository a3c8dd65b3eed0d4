// The assistant's API shapes (backend-api `assistant::{routes,store,conversation,tools}`).
// Every field the backend may add later is optional here: the UI reads what is there.

export interface AssistantStatus {
  enabled: boolean;
  model?: string;
}

export interface Thread {
  id: string;
  title: string;
  timezone: string;
  created_at: string;
  updated_at: string;
}

export type ItemKind = "user_message" | "assistant_message" | "tool_result" | "error" | "confirmation";

/** One stored entry of a thread. `content` depends on `kind` (see `store::Item`). */
export interface Item {
  id: string;
  thread_id?: string;
  kind: ItemKind | (string & {});
  content?: Record<string, unknown>;
  created_at?: string;
}

export interface ToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments?: string };
}

/** A task as the tools show it to the model (`tools::task_view`). */
export interface TaskView {
  id: string;
  title: string;
  status?: string;
  priority?: string;
  tags?: string[];
  due_date?: string | null;
  due_local?: string | null;
  version?: number;
}

/** An entry of `tasks` in the list of waiting cards (`GET /api/assistant/confirmations`): the
 * task as it is now (null once deleted) and whether it changed since the card was made. */
export interface CardTarget {
  task_id: string;
  version?: number;
  changed?: boolean;
  task?: TaskView | null;
}

/** A card waiting for the user's decision: one task (`task`) or several (`tasks`). */
export interface ConfirmationCard {
  id: string;
  action: string;
  task?: TaskView | null;
  tasks?: (TaskView | CardTarget)[] | null;
  expires_at?: string | null;
  thread_id?: string | null;
  status?: string;
  source?: string;
}

export interface Decision {
  id: string;
  thread_id?: string | null;
  action: string;
  status: string;
}

/** A task named on a card, as the card shows it. */
export interface CardTask extends TaskView {
  /** Changed since the card was made: confirming will be refused. */
  changed?: boolean;
  /** Deleted since the card was made. */
  missing?: boolean;
}

const isTarget = (t: TaskView | CardTarget): t is CardTarget => "task_id" in t && !("title" in t);

/** The tasks a card acts on, whichever shape the backend sent: tool results carry task views,
 * the list of waiting cards carries `{task_id, changed, task}`. */
export function cardTasks(c: ConfirmationCard): CardTask[] {
  const raw = c.tasks ?? (c.task ? [c.task] : []);
  return raw.map((t) => {
    if (!isTarget(t)) return t;
    if (!t.task) return { id: t.task_id, title: "A task that no longer exists", missing: true, changed: true };
    return { ...t.task, id: t.task.id ?? t.task_id, changed: !!t.changed };
  });
}

/** An MCP agent token as backend-api's registry lists it (never the token itself). */
export interface AgentToken {
  /** The token's `jti`. */
  id: string;
  label: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A freshly minted agent token: the only time the token is shown. */
export interface IssuedAgentToken {
  token: string;
  url: string;
  expires_at: string;
  id: string;
  label: string;
}
