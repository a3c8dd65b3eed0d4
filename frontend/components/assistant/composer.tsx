"use client";
// The message box: Enter sends, Shift+Enter starts a new line; a refused message stays in it.
import { useId } from "react";
import { ArrowUp } from "lucide-react";
import type { AssistantState } from "@/hooks/use-assistant";
import { Spinner } from "../ui";

export function Composer({
  a,
  inputRef,
  text,
  setText,
}: {
  a: AssistantState;
  inputRef: React.RefObject<HTMLTextAreaElement | null>;
  text: string;
  setText: React.Dispatch<React.SetStateAction<string>>;
}) {
  const hintId = useId();
  const submit = async () => {
    const value = text;
    if (!value.trim() || a.sending) return;
    setText("");
    const ok = await a.send(value);
    if (!ok) setText((t) => t || value); // refused: keep what was typed
    inputRef.current?.focus();
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      className="border-t border-zinc-200 p-3 dark:border-zinc-800"
    >
      <div className="flex items-end gap-2 rounded-xl border border-zinc-200 bg-white px-2 py-1.5 shadow-xs focus-within:border-brand-500 focus-within:ring-3 focus-within:ring-brand-500/15 dark:border-zinc-800 dark:bg-zinc-900">
        <label htmlFor="assistant-input" className="sr-only">
          Message the assistant
        </label>
        <textarea
          ref={inputRef}
          id="assistant-input"
          data-testid="assistant-input"
          rows={1}
          maxLength={4000}
          value={text}
          aria-describedby={hintId}
          placeholder="Ask to add, find, change or complete tasks…"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void submit();
            }
          }}
          // The box around it shows focus (focus-within ring); the global outline would double it.
          style={{ outline: "none" }}
          className="max-h-40 min-h-8 flex-1 resize-none bg-transparent px-1 py-1.5 text-sm [field-sizing:content] placeholder:text-zinc-400 dark:placeholder:text-zinc-500"
        />
        <button
          type="submit"
          data-testid="assistant-send"
          aria-label="Send"
          disabled={!text.trim() || a.sending}
          className="mb-0.5 inline-flex size-8 shrink-0 items-center justify-center rounded-lg bg-brand-600 text-white transition hover:bg-brand-500 disabled:cursor-not-allowed disabled:opacity-40 dark:bg-brand-500"
        >
          {a.sending ? <Spinner className="text-white" /> : <ArrowUp className="size-4" aria-hidden />}
        </button>
      </div>
      <p id={hintId} className="mt-1.5 px-1 text-[11px] text-zinc-400 dark:text-zinc-500">
        Enter sends · Shift+Enter for a new line · Deleting always asks you first
      </p>
    </form>
  );
}
