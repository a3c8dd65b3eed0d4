"use client";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { CalendarClock, CornerDownLeft, Flag, Hash, Plus, Repeat, X } from "lucide-react";
import { api, ApiError, type TaskInput } from "@/lib/api";
import { browserTimeZone } from "@/lib/datetime";
import {
  currentSpans,
  describeSpan,
  keepLiteral,
  QuickAddParser,
  segments,
  toTaskInput,
  type ParsedSpan,
  type ParseResult,
  type SpanKind,
} from "@/lib/quick-add";
import { cn } from "@/lib/cn";
import { Kbd } from "../ui";

const MARK: Record<SpanKind, string> = {
  due: "bg-sky-500/20 dark:bg-sky-400/25",
  repeat: "bg-violet-500/20 dark:bg-violet-400/25",
  priority: "bg-rose-500/20 dark:bg-rose-400/25",
  tag: "bg-emerald-500/20 dark:bg-emerald-400/25",
};

const CHIP: Record<SpanKind, string> = {
  due: "border-sky-300 text-sky-800 dark:border-sky-700 dark:text-sky-200",
  repeat: "border-violet-300 text-violet-800 dark:border-violet-700 dark:text-violet-200",
  priority: "border-rose-300 text-rose-800 dark:border-rose-700 dark:text-rose-200",
  tag: "border-emerald-300 text-emerald-800 dark:border-emerald-700 dark:text-emerald-200",
};

const ICON = { due: CalendarClock, repeat: Repeat, priority: Flag, tag: Hash } as const;

/**
 * The quick-add box: "Pay rent tomorrow 9am #home !high" becomes a task titled "Pay rent", due
 * tomorrow at 9:00 in the browser's zone, tagged and prioritised. The server reads the text as
 * the user types; what it recognised is highlighted in the input and listed below it, each with
 * a button that keeps the phrase as text (by quoting it).
 */
export function QuickAdd({
  onAdd,
  inputRef,
}: {
  onAdd: (input: TaskInput) => Promise<boolean>;
  inputRef: React.RefObject<HTMLInputElement | null>;
}) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ParseResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const overlayRef = useRef<HTMLDivElement>(null);
  const timezone = useMemo(() => browserTimeZone(), []);
  const parser = useMemo(
    () =>
      new QuickAddParser(
        (text, signal) => api.parseTask(text, timezone, signal),
        (fresh) => {
          setResult(fresh);
          setProblem(null);
        },
        (error) => setProblem(error instanceof ApiError ? error.message : "Could not read the text"),
      ),
    [timezone],
  );
  useEffect(() => () => parser.dispose(), [parser]);

  const spans = currentSpans(value, result);
  const fresh = result?.text === value ? result : null;

  // The highlights sit behind the input's text; they scroll with it.
  useLayoutEffect(() => {
    if (overlayRef.current && inputRef.current) overlayRef.current.scrollLeft = inputRef.current.scrollLeft;
  });

  const change = (text: string) => {
    setValue(text);
    setProblem(null);
    if (!text.trim()) setResult(null);
    parser.type(text);
  };

  const keep = (span: ParsedSpan) => {
    const text = keepLiteral(value, span);
    change(text);
    inputRef.current?.focus();
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!value.trim() || busy) return;
    setBusy(true);
    let parsed: ParseResult;
    try {
      parsed = await parser.settle(value);
    } catch (error) {
      setProblem(error instanceof ApiError ? error.message : "Could not read the text");
      setBusy(false);
      return;
    }
    if (!parsed.task.title.trim()) {
      setProblem("Add a title: every word here was read as a date, tag or priority.");
      setBusy(false);
      inputRef.current?.focus();
      return;
    }
    const ok = await onAdd(toTaskInput(parsed));
    setBusy(false);
    if (ok) change("");
    inputRef.current?.focus();
  };

  return (
    <form onSubmit={submit} className="space-y-1.5">
      <div className="group flex items-center gap-2 rounded-xl border border-zinc-200 bg-white px-3 shadow-sm transition focus-within:border-brand-500 focus-within:ring-4 focus-within:ring-brand-500/10 dark:border-zinc-800 dark:bg-zinc-900">
        <Plus className="size-5 shrink-0 text-brand-500" aria-hidden />
        <label htmlFor="quick-add" className="sr-only">
          Add a task
        </label>
        <div className="relative min-w-0 flex-1">
          <div
            ref={overlayRef}
            aria-hidden
            data-testid="quick-add-highlights"
            className="pointer-events-none absolute inset-0 flex items-center overflow-hidden whitespace-pre text-[15px] text-transparent"
          >
            {segments(value, spans).map((s, i) =>
              s.kind ? (
                <mark key={i} data-kind={s.kind} className={cn("rounded-sm text-transparent", MARK[s.kind])}>
                  {s.text}
                </mark>
              ) : (
                <span key={i}>{s.text}</span>
              ),
            )}
          </div>
          <input
            id="quick-add"
            ref={inputRef}
            value={value}
            onChange={(e) => change(e.target.value)}
            onScroll={(e) => {
              if (overlayRef.current) overlayRef.current.scrollLeft = e.currentTarget.scrollLeft;
            }}
            maxLength={300}
            autoComplete="off"
            spellCheck={false}
            placeholder="Add a task… try “Pay rent tomorrow 9am #home !high”"
            aria-describedby="quick-add-hint quick-add-parts"
            aria-invalid={problem ? true : undefined}
            className="relative h-12 w-full bg-transparent text-[15px] placeholder:text-zinc-400"
            // The box around it shows the focus ring (focus-within); the global :focus-visible
            // outline would draw a second one inside it.
            style={{ outline: "none" }}
            disabled={busy}
          />
        </div>
        <span id="quick-add-hint" className="hidden shrink-0 items-center gap-1 text-xs text-zinc-400 sm:flex">
          {value ? (
            <>
              <Kbd>
                <CornerDownLeft className="size-3" aria-label="Enter" />
              </Kbd>{" "}
              to add
            </>
          ) : (
            <>
              Press <Kbd>N</Kbd> anywhere
            </>
          )}
        </span>
      </div>
      <div id="quick-add-parts" aria-live="polite" className="flex min-h-0 flex-wrap items-center gap-1.5 px-1">
        {fresh && fresh.spans.length > 0 && (
          <>
            <span className="sr-only">Recognised:</span>
            {fresh.spans.map((span) => {
              const Icon = ICON[span.kind];
              const label = describeSpan(span, fresh.task);
              return (
                <span
                  key={`${span.start}-${span.end}`}
                  data-kind={span.kind}
                  className={cn(
                    "inline-flex items-center gap-1 rounded-full border bg-white py-0.5 pl-2 pr-0.5 text-xs dark:bg-zinc-900",
                    CHIP[span.kind],
                  )}
                >
                  <Icon className="size-3" aria-hidden />
                  {label}
                  <button
                    type="button"
                    onClick={() => keep(span)}
                    aria-label={`Keep “${span.text}” as text`}
                    title={`Keep “${span.text}” as text`}
                    className="rounded-full p-0.5 hover:bg-zinc-100 focus-visible:outline-2 focus-visible:outline-brand-500 dark:hover:bg-zinc-800"
                  >
                    <X className="size-3" aria-hidden />
                  </button>
                </span>
              );
            })}
          </>
        )}
        {problem && (
          <span role="alert" className="text-xs text-rose-600 dark:text-rose-400">
            {problem}
          </span>
        )}
      </div>
    </form>
  );
}
