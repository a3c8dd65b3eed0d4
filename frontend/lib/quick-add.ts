// The quick-add box's logic: the server reads the text (`POST /api/tasks/parse`, in the user's
// zone) as the user types; this module debounces those reads, drops stale answers, cuts the
// text into highlighted segments and keeps a phrase literal by quoting it.
import type { TaskInput } from "./api";
import { formatDue } from "./datetime";
import { describeRule } from "./recurrence";

export type SpanKind = "due" | "repeat" | "priority" | "tag";

/** A recognised phrase: `start`/`end` are JavaScript string indexes of the parsed text. */
export interface ParsedSpan {
  kind: SpanKind;
  start: number;
  end: number;
  text: string;
}

/** The answer of `POST /api/tasks/parse`. */
export interface ParsedQuickAdd {
  task: TaskInput & { title: string };
  spans: ParsedSpan[];
}

/** An answer with the text it is the answer for. */
export interface ParseResult extends ParsedQuickAdd {
  text: string;
}

export interface Segment {
  text: string;
  kind: SpanKind | null;
}

/**
 * The spans of `result` that still stand where they were in `text`: all of them when the text
 * is the parsed one; while the user types on at its end, those that ended before it; otherwise
 * none (the next answer brings them back).
 */
export function currentSpans(text: string, result: ParseResult | null): ParsedSpan[] {
  if (!result) return [];
  if (text === result.text) return result.spans;
  if (text.startsWith(result.text)) return result.spans.filter((s) => s.end < result.text.length);
  return [];
}

/** `text` cut at the spans' edges, each piece with the kind of the span it belongs to. */
export function segments(text: string, spans: ParsedSpan[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at || span.end > text.length || span.end <= span.start) continue;
    if (span.start > at) out.push({ text: text.slice(at, span.start), kind: null });
    out.push({ text: text.slice(span.start, span.end), kind: span.kind });
    at = span.end;
  }
  if (at < text.length) out.push({ text: text.slice(at), kind: null });
  return out;
}

/** `text` with the span in double quotes, so the parser leaves it in the title. */
export function keepLiteral(text: string, span: ParsedSpan): string {
  return `${text.slice(0, span.start)}"${text.slice(span.start, span.end)}"${text.slice(span.end)}`;
}

const PRIORITY_LABEL = { high: "High priority", medium: "Medium priority", low: "Low priority" } as const;

/** What a span sets, in words ("Due Tomorrow 09:00", "Repeats every Monday", "Tag home"). */
export function describeSpan(span: ParsedSpan, task: TaskInput, now = new Date()): string {
  switch (span.kind) {
    case "due":
      return task.due_date ? `Due ${formatDue(task.due_date, now)}` : `Due ${span.text}`;
    case "repeat": {
      const rule = task.recurring_rule ? describeRule(task.recurring_rule) : span.text;
      const first = task.due_date ? `, first ${formatDue(task.due_date, now)}` : "";
      return `Repeats ${rule.charAt(0).toLowerCase()}${rule.slice(1)}${first}`;
    }
    case "priority":
      return task.priority ? PRIORITY_LABEL[task.priority] : span.text;
    case "tag":
      return `Tag ${span.text.replace(/^#/, "").toLowerCase()}`;
  }
}

/** The fields to create: the answer's task without its empty fields. */
export function toTaskInput(parsed: ParsedQuickAdd): TaskInput {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.task)) {
    if (value !== null && value !== undefined) input[key] = value;
  }
  return input as TaskInput;
}

export type ParseFn = (text: string, signal: AbortSignal) => Promise<ParsedQuickAdd>;

/**
 * Reads texts through `parse` at most once per pause in typing. `type` schedules a read of the
 * newest text (an older read still in flight is aborted and its answer never delivered);
 * `settle` gives the answer for a text now, reusing a read of the same text that is under way
 * or done.
 */
export class QuickAddParser {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller: AbortController | undefined;
  private latest: { text: string; promise: Promise<ParseResult>; failed: boolean } | undefined;

  constructor(
    private readonly parse: ParseFn,
    private readonly onResult: (result: ParseResult) => void,
    private readonly onError: (error: unknown, text: string) => void,
    private readonly delayMs = 150,
  ) {}

  /** The user typed: read `text` once they pause (an empty text clears at once). */
  type(text: string): void {
    clearTimeout(this.timer);
    if (!text.trim()) {
      this.controller?.abort();
      this.latest = undefined;
      return;
    }
    if (this.latest?.text === text && !this.latest.failed) return;
    this.timer = setTimeout(() => void this.read(text).catch(() => undefined), this.delayMs);
  }

  /** The answer for `text`, now. */
  settle(text: string): Promise<ParseResult> {
    clearTimeout(this.timer);
    if (this.latest?.text === text && !this.latest.failed) return this.latest.promise;
    return this.read(text);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.controller?.abort();
  }

  private read(text: string): Promise<ParseResult> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const entry = { text, failed: false } as { text: string; promise: Promise<ParseResult>; failed: boolean };
    entry.promise = this.parse(text, controller.signal).then(
      (parsed) => {
        const result = { ...parsed, text };
        if (!controller.signal.aborted) this.onResult(result);
        return result;
      },
      (error: unknown) => {
        entry.failed = true;
        if (!controller.signal.aborted) this.onError(error, text);
        throw error;
      },
    );
    this.latest = entry;
    return entry.promise;
  }
}
