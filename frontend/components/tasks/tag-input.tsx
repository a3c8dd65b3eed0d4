"use client";
import { useState } from "react";
import { X } from "lucide-react";
import { normalizeTag } from "@/lib/validation";

export function TagInput({
  id,
  value,
  onChange,
  suggestions,
  invalid,
}: {
  id: string;
  value: string[];
  onChange: (tags: string[]) => void;
  suggestions: string[];
  invalid?: boolean;
}) {
  const [draft, setDraft] = useState("");
  const add = (raw: string) => {
    const parts = raw.split(",").map(normalizeTag).filter(Boolean);
    const next = [...value];
    for (const t of parts) if (!next.includes(t)) next.push(t);
    if (next.length !== value.length) onChange(next);
    setDraft("");
  };
  return (
    <div
      className="flex min-h-10 flex-wrap items-center gap-1.5 rounded-lg border border-zinc-200 bg-white px-2 py-1.5 shadow-xs focus-within:border-brand-500 focus-within:ring-3 focus-within:ring-brand-500/15 aria-[invalid=true]:border-red-400 dark:border-zinc-800 dark:bg-zinc-900"
      aria-invalid={invalid}
    >
      {value.map((t) => (
        <span
          key={t}
          className="inline-flex items-center gap-1 rounded-md bg-brand-50 py-0.5 pr-1 pl-2 text-xs font-medium text-brand-700 dark:bg-brand-500/15 dark:text-brand-300"
        >
          #{t}
          <button
            type="button"
            aria-label={`Remove tag ${t}`}
            onClick={() => onChange(value.filter((x) => x !== t))}
            className="rounded p-0.5 hover:bg-brand-100 dark:hover:bg-brand-500/20"
          >
            <X className="size-3" />
          </button>
        </span>
      ))}
      <input
        id={id}
        list={`${id}-suggestions`}
        value={draft}
        onChange={(e) => {
          if (e.target.value.endsWith(",")) add(e.target.value);
          else setDraft(e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && draft.trim()) {
            e.preventDefault();
            add(draft);
          } else if (e.key === "Backspace" && !draft && value.length) {
            onChange(value.slice(0, -1));
          }
        }}
        onBlur={() => draft.trim() && add(draft)}
        placeholder={value.length ? "" : "Add tags, press Enter"}
        className="h-6 min-w-24 flex-1 bg-transparent text-sm placeholder:text-zinc-400 focus:outline-none"
      />
      <datalist id={`${id}-suggestions`}>
        {suggestions
          .filter((s) => !value.includes(s))
          .map((s) => (
            <option key={s} value={s} />
          ))}
      </datalist>
    </div>
  );
}
