"use client";
import { useState } from "react";
import { CornerDownLeft, Plus } from "lucide-react";
import type { TaskInput } from "@/lib/api";
import { normalizeTag } from "@/lib/validation";
import { Kbd } from "../ui";

/** "Pay rent #home !high" → title "Pay rent", tags ["home"], priority high. */
export function parseQuickAdd(raw: string): TaskInput {
  const tags: string[] = [];
  let priority: TaskInput["priority"];
  const words = raw.split(/\s+/).filter((w) => {
    if (/^#[\p{L}\p{N}_-]{1,50}$/u.test(w)) {
      const t = normalizeTag(w);
      if (!tags.includes(t)) tags.push(t);
      return false;
    }
    const p = /^!(high|medium|low|h|m|l)$/i.exec(w)?.[1]?.toLowerCase();
    if (p) {
      priority = ({ h: "high", m: "medium", l: "low" } as const)[p as "h"] ?? (p as TaskInput["priority"]);
      return false;
    }
    return true;
  });
  const input: TaskInput = { title: words.join(" ").trim() };
  if (tags.length) input.tags = tags;
  if (priority) input.priority = priority;
  return input;
}

export function QuickAdd({
  onAdd,
  inputRef,
}: {
  onAdd: (input: TaskInput) => Promise<boolean>;
  inputRef: React.RefObject<HTMLInputElement | null>;
}) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const input = parseQuickAdd(value);
    if (!input.title) return;
    setBusy(true);
    const ok = await onAdd(input);
    setBusy(false);
    if (ok) setValue("");
    inputRef.current?.focus();
  };
  return (
    <form
      onSubmit={submit}
      className="group flex items-center gap-2 rounded-xl border border-zinc-200 bg-white px-3 shadow-sm transition focus-within:border-brand-500 focus-within:ring-4 focus-within:ring-brand-500/10 dark:border-zinc-800 dark:bg-zinc-900"
    >
      <Plus className="size-5 shrink-0 text-brand-500" aria-hidden />
      <label htmlFor="quick-add" className="sr-only">
        Add a task
      </label>
      <input
        id="quick-add"
        ref={inputRef}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        maxLength={300}
        autoComplete="off"
        placeholder="Add a task… try “Call the bank #errands !high”"
        aria-describedby="quick-add-hint"
        className="h-12 min-w-0 flex-1 bg-transparent text-[15px] placeholder:text-zinc-400 focus:outline-none"
        disabled={busy}
      />
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
    </form>
  );
}
