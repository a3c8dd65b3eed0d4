// The quick-add box's logic: spans to segments, keeping a phrase literal, the words under a
// chip, and the debounced reader that never lets a stale answer win.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  currentSpans,
  describeSpan,
  keepLiteral,
  QuickAddParser,
  segments,
  toTaskInput,
  type ParsedQuickAdd,
  type ParsedSpan,
  type ParseResult,
} from "@/lib/quick-add";

const TEXT = "Pay rent tomorrow 9am #home !high";
const SPANS: ParsedSpan[] = [
  { kind: "due", start: 9, end: 21, text: "tomorrow 9am" },
  { kind: "tag", start: 22, end: 27, text: "#home" },
  { kind: "priority", start: 28, end: 33, text: "!high" },
];
const RESULT: ParseResult = {
  text: TEXT,
  spans: SPANS,
  task: {
    title: "Pay rent",
    due_date: "2026-11-27T08:00:00Z",
    priority: "high",
    tags: ["home"],
    timezone: "Europe/Berlin",
    description: null,
    recurring_rule: null,
  },
};

describe("segments and spans", () => {
  it("cuts the text at the spans' edges and keeps every character once", () => {
    const parts = segments(TEXT, SPANS);
    expect(parts).toEqual([
      { text: "Pay rent ", kind: null },
      { text: "tomorrow 9am", kind: "due" },
      { text: " ", kind: null },
      { text: "#home", kind: "tag" },
      { text: " ", kind: null },
      { text: "!high", kind: "priority" },
    ]);
    expect(parts.map((p) => p.text).join("")).toBe(TEXT);
    expect(segments("plain", [])).toEqual([{ text: "plain", kind: null }]);
    expect(segments("", SPANS)).toEqual([]);
  });

  it("skips spans that overlap, run past the text or are empty", () => {
    const odd: ParsedSpan[] = [
      { kind: "due", start: 0, end: 3, text: "Pay" },
      { kind: "tag", start: 2, end: 5, text: "y r" },
      { kind: "tag", start: 6, end: 6, text: "" },
      { kind: "priority", start: 30, end: 99, text: "?" },
    ];
    expect(segments(TEXT, odd).map((p) => p.text).join("")).toBe(TEXT);
    expect(segments(TEXT, odd).filter((p) => p.kind)).toEqual([{ text: "Pay", kind: "due" }]);
  });

  it("shows an answer's spans only while they still stand where they were", () => {
    expect(currentSpans(TEXT, RESULT)).toBe(SPANS);
    // Typing on at the end: the spans before the end stay, the last one may still grow.
    expect(currentSpans(`${TEXT} x`, RESULT)).toEqual(SPANS.slice(0, 2));
    // An edit before a span moves it: nothing until the next answer.
    expect(currentSpans(`X${TEXT}`, RESULT)).toEqual([]);
    expect(currentSpans(TEXT, null)).toEqual([]);
  });

  it("keeps a phrase literal by quoting it", () => {
    expect(keepLiteral(TEXT, SPANS[0]!)).toBe('Pay rent "tomorrow 9am" #home !high');
    expect(keepLiteral(TEXT, SPANS[2]!)).toBe('Pay rent tomorrow 9am #home "!high"');
  });

  it("says in words what each span sets", () => {
    const now = new Date("2026-11-26T10:00:00Z");
    expect(describeSpan(SPANS[0]!, RESULT.task, now)).toMatch(/^Due Tomorrow \d\d:\d\d/);
    expect(describeSpan(SPANS[1]!, RESULT.task, now)).toBe("Tag home");
    expect(describeSpan(SPANS[2]!, RESULT.task, now)).toBe("High priority");
    const weekly = { title: "Water the plants", recurring_rule: "FREQ=WEEKLY;BYDAY=MO", due_date: "2026-11-30T08:00:00Z" };
    expect(describeSpan({ kind: "repeat", start: 17, end: 29, text: "every monday" }, weekly, now)).toMatch(
      /^Repeats every week on Mon, first Mon.*30/,
    );
  });

  it("creates with the answer's fields and without its empty ones", () => {
    expect(toTaskInput(RESULT)).toEqual({
      title: "Pay rent",
      due_date: "2026-11-27T08:00:00Z",
      priority: "high",
      tags: ["home"],
      timezone: "Europe/Berlin",
    });
  });
});

describe("the debounced reader", () => {
  let calls: { text: string; signal: AbortSignal; resolve: (v: ParsedQuickAdd) => void; reject: (e: unknown) => void }[];
  let results: ParseResult[];
  let errors: unknown[];
  let parser: QuickAddParser;

  const answer = (text: string): ParsedQuickAdd => ({ task: { title: text }, spans: [] });

  beforeEach(() => {
    vi.useFakeTimers();
    calls = [];
    results = [];
    errors = [];
    parser = new QuickAddParser(
      (text, signal) =>
        new Promise((resolve, reject) => {
          calls.push({ text, signal, resolve, reject });
        }),
      (r) => results.push(r),
      (e) => errors.push(e),
      150,
    );
  });
  afterEach(() => {
    parser.dispose();
    vi.useRealTimers();
  });

  it("reads once per pause in typing, the newest text only", async () => {
    for (const text of ["P", "Pa", "Pay", "Pay tomorrow"]) {
      parser.type(text);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(calls.map((c) => c.text)).toEqual(["Pay tomorrow"]);
    calls[0]!.resolve(answer("Pay"));
    await vi.advanceTimersByTimeAsync(0);
    expect(results.map((r) => r.text)).toEqual(["Pay tomorrow"]);
    // The same text again is not read again.
    parser.type("Pay tomorrow");
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(1);
  });

  it("aborts an older read and never delivers its answer", async () => {
    parser.type("Pay tom");
    await vi.advanceTimersByTimeAsync(150);
    parser.type("Pay tomorrow");
    await vi.advanceTimersByTimeAsync(150);
    expect(calls.map((c) => c.text)).toEqual(["Pay tom", "Pay tomorrow"]);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[1]!.resolve(answer("new"));
    calls[0]!.resolve(answer("old"));
    await vi.advanceTimersByTimeAsync(0);
    expect(results.map((r) => r.task.title)).toEqual(["new"]);
  });

  it("settles on the read of the same text under way, or reads at once", async () => {
    parser.type("Pay rent friday");
    await vi.advanceTimersByTimeAsync(150);
    const settled = parser.settle("Pay rent friday");
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(answer("Pay rent"));
    expect((await settled).task.title).toBe("Pay rent");

    // Enter before the pause ends: no waiting for the timer.
    parser.type("Call mum");
    const now = parser.settle("Call mum");
    expect(calls.map((c) => c.text)).toEqual(["Pay rent friday", "Call mum"]);
    calls[1]!.resolve(answer("Call mum"));
    expect((await now).text).toBe("Call mum");
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(2);
  });

  it("reports a failed read and reads the same text again next time", async () => {
    parser.type("x #a");
    await vi.advanceTimersByTimeAsync(150);
    calls[0]!.reject(new Error("429"));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    const retry = parser.settle("x #a");
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(answer("x"));
    expect((await retry).task.title).toBe("x");
  });

  it("clears at once for an empty text", async () => {
    parser.type("Pay");
    parser.type("  ");
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(0);
  });
});
