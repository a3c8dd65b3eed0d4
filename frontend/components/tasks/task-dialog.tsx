"use client";
import { useMemo, useRef, useState } from "react";
import { ApiError, type TaskInput } from "@/lib/api";
import { cn } from "@/lib/cn";
import { browserTimeZone, localInputToUtc, timeZones, utcToLocalInput } from "@/lib/datetime";
import type { Priority, Task } from "@/lib/types";
import { apiDetailsToErrors, validateTaskForm, type FormErrors, type TaskFormValues } from "@/lib/validation";
import { Dialog } from "../dialog";
import { Button, Field, inputClass } from "../ui";
import { RecurrenceField } from "./recurrence-field";
import { TagInput } from "./tag-input";

export function toFormValues(task: Task | null): TaskFormValues {
  const tz = task?.timezone || browserTimeZone();
  return {
    title: task?.title ?? "",
    description: task?.description ?? "",
    priority: task?.priority ?? "medium",
    tags: task?.tags ?? [],
    due: utcToLocalInput(task?.due_date, tz),
    reminder: utcToLocalInput(task?.reminder_at, tz),
    recurrence: task?.recurring_rule ?? "",
    recurringMode: task?.recurring_mode ?? "schedule",
    recurringEnd: utcToLocalInput(task?.recurring_end_date, tz),
    timezone: tz,
  };
}

/** The API body for the form: everything for a new task, only what changed for an edit. */
export function toTaskInput(v: TaskFormValues, original: Task | null): TaskInput {
  const tz = v.timezone;
  const full: TaskInput = {
    title: v.title.trim(),
    description: v.description,
    priority: v.priority,
    tags: v.tags,
    due_date: v.due ? localInputToUtc(v.due, tz) : null,
    reminder_at: v.reminder ? localInputToUtc(v.reminder, tz) : null,
    recurring_rule: v.recurrence || null,
    recurring_end_date: v.recurrence && v.recurringEnd ? localInputToUtc(v.recurringEnd, tz) : null,
    timezone: tz,
  };
  if (v.recurrence) full.recurring_mode = v.recurringMode;
  if (!original) {
    // Omit empty optional fields on create.
    const out: TaskInput = {};
    for (const [k, val] of Object.entries(full) as [keyof TaskInput, unknown][]) {
      if (val === null || val === "" || (Array.isArray(val) && !val.length)) continue;
      (out as Record<string, unknown>)[k] = val;
    }
    return out;
  }
  const patch: TaskInput = {};
  const same = (a: unknown, b: unknown) => {
    if (typeof a === "string" && typeof b === "string" && /^\d{4}-\d\d-\d\dT/.test(a)) return Date.parse(a) === Date.parse(b);
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  };
  for (const [k, val] of Object.entries(full) as [keyof TaskInput, unknown][]) {
    const before = k === "description" ? (original.description ?? "") : original[k];
    if (!same(val, before)) (patch as Record<string, unknown>)[k] = val;
  }
  return patch;
}

const PRIORITIES: { value: Priority; label: string; dot: string }[] = [
  { value: "low", label: "Low", dot: "bg-zinc-400" },
  { value: "medium", label: "Medium", dot: "bg-amber-500" },
  { value: "high", label: "High", dot: "bg-red-500" },
];

export function TaskDialog({
  open,
  task,
  tagSuggestions,
  onClose,
  onSubmit,
}: {
  open: boolean;
  task: Task | null;
  tagSuggestions: string[];
  onClose: () => void;
  /** Resolves when saved; rejects with ApiError to show field errors. */
  onSubmit: (input: TaskInput, original: Task | null) => Promise<void>;
}) {
  const [values, setValues] = useState<TaskFormValues>(() => toFormValues(task));
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const titleRef = useRef<HTMLInputElement>(null);
  const zones = useMemo(() => timeZones(), []);

  const set = <K extends keyof TaskFormValues>(k: K, v: TaskFormValues[K]) => {
    setValues((prev) => ({ ...prev, [k]: v }));
    if (errors[k]) setErrors(({ [k]: _gone, ...rest }) => rest);
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const errs = validateTaskForm(values, { isNew: !task || values.reminder !== toFormValues(task).reminder });
    setErrors(errs);
    const first = Object.keys(errs)[0];
    if (first) {
      const ids: Record<string, string> = {
        title: "task-title",
        description: "task-description",
        tags: "task-tags",
        due: "task-due",
        reminder: "task-reminder",
        recurrence: "task-repeat",
        recurringEnd: "task-repeat-end",
        timezone: "task-timezone",
      };
      document.getElementById(ids[first] ?? "task-title")?.focus();
      return;
    }
    const input = toTaskInput(values, task);
    if (task && !Object.keys(input).length) {
      onClose();
      return;
    }
    setSaving(true);
    try {
      await onSubmit(input, task);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const mapped = apiDetailsToErrors(err.details);
        setErrors(Object.keys(mapped).length ? mapped : { form: err.message });
      } else {
        setErrors({ form: err instanceof Error ? err.message : "Could not save the task." });
      }
    } finally {
      setSaving(false);
    }
  };

  const errProps = (k: keyof TaskFormValues, id: string) => ({
    "aria-invalid": !!errors[k],
    "aria-describedby": errors[k] ? `${id}-error` : undefined,
  });

  return (
    <Dialog open={open} onClose={onClose} title={task ? "Edit task" : "New task"} initialFocus={titleRef} className="sm:max-w-xl">
      <form onSubmit={submit} noValidate className="flex min-h-0 flex-1 flex-col" data-testid="task-form">
        <div className="min-h-0 flex-1 space-y-4 overflow-y-auto px-5 pt-3 pb-5">
          {errors.form && (
            <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-500/10 dark:text-red-300">
              {errors.form}
            </p>
          )}
          <Field label="Title" htmlFor="task-title" error={errors.title}>
            <input
              id="task-title"
              ref={titleRef}
              value={values.title}
              onChange={(e) => set("title", e.target.value)}
              maxLength={250}
              className={inputClass}
              {...errProps("title", "task-title")}
            />
          </Field>
          <Field label="Description" htmlFor="task-description" error={errors.description}>
            <textarea
              id="task-description"
              value={values.description}
              onChange={(e) => set("description", e.target.value)}
              rows={3}
              placeholder="Notes, links, details…"
              className={cn(inputClass, "resize-y")}
              {...errProps("description", "task-description")}
            />
          </Field>
          <div className="grid gap-4 sm:grid-cols-2">
            <fieldset className="space-y-1.5">
              <legend className="mb-1.5 text-[13px] font-medium text-zinc-700 dark:text-zinc-300">Priority</legend>
              <div role="radiogroup" aria-label="Priority" className="grid grid-cols-3 gap-1 rounded-lg bg-zinc-100 p-0.5 dark:bg-zinc-950">
                {PRIORITIES.map((p) => (
                  <button
                    key={p.value}
                    type="button"
                    role="radio"
                    aria-checked={values.priority === p.value}
                    onClick={() => set("priority", p.value)}
                    className={cn(
                      "inline-flex h-8 items-center justify-center gap-1.5 rounded-md text-sm font-medium transition",
                      values.priority === p.value
                        ? "bg-white text-zinc-900 shadow-sm dark:bg-zinc-800 dark:text-white"
                        : "text-zinc-500 hover:text-zinc-800 dark:text-zinc-400 dark:hover:text-zinc-200",
                    )}
                  >
                    <span className={cn("size-2 rounded-full", p.dot)} aria-hidden />
                    {p.label}
                  </button>
                ))}
              </div>
            </fieldset>
            <Field label="Tags" htmlFor="task-tags" error={errors.tags}>
              <TagInput
                id="task-tags"
                value={values.tags}
                onChange={(t) => set("tags", t)}
                suggestions={tagSuggestions}
                invalid={!!errors.tags}
              />
            </Field>
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label="Due" htmlFor="task-due" error={errors.due}>
              <input
                id="task-due"
                type="datetime-local"
                value={values.due}
                onChange={(e) => set("due", e.target.value)}
                className={inputClass}
                {...errProps("due", "task-due")}
              />
            </Field>
            <Field label="Remind me" htmlFor="task-reminder" error={errors.reminder}>
              <input
                id="task-reminder"
                type="datetime-local"
                value={values.reminder}
                onChange={(e) => set("reminder", e.target.value)}
                className={inputClass}
                {...errProps("reminder", "task-reminder")}
              />
            </Field>
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label="Repeat" htmlFor="task-repeat" error={errors.recurrence}>
              <RecurrenceField value={values.recurrence} onChange={(r) => set("recurrence", r)} invalid={!!errors.recurrence} />
            </Field>
            <Field label="Time zone" htmlFor="task-timezone" error={errors.timezone} hint="Due and reminder times are in this zone.">
              <select
                id="task-timezone"
                value={values.timezone}
                onChange={(e) => set("timezone", e.target.value)}
                className={cn(inputClass, "h-9 py-1")}
              >
                {!zones.includes(values.timezone) && <option value={values.timezone}>{values.timezone}</option>}
                {zones.map((z) => (
                  <option key={z} value={z}>
                    {z.replaceAll("_", " ")}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          {values.recurrence && (
            <div className="grid gap-4 sm:grid-cols-2">
              <fieldset>
                <legend className="mb-1.5 text-[13px] font-medium text-zinc-700 dark:text-zinc-300">Next occurrence</legend>
                <div className="space-y-1.5 text-sm">
                  {(
                    [
                      ["schedule", "On schedule", "Follows the rule from the first due date"],
                      ["completion", "After completion", "Counted from when you complete it"],
                    ] as const
                  ).map(([v, label, hint]) => (
                    <label key={v} className="flex cursor-pointer items-start gap-2">
                      <input
                        type="radio"
                        name="recurring-mode"
                        value={v}
                        checked={values.recurringMode === v}
                        onChange={() => set("recurringMode", v)}
                        className="mt-1 accent-brand-600"
                      />
                      <span>
                        {label}
                        <span className="block text-xs text-zinc-500 dark:text-zinc-400">{hint}</span>
                      </span>
                    </label>
                  ))}
                </div>
              </fieldset>
              <Field label="Ends" htmlFor="task-repeat-end" error={errors.recurringEnd} hint="Leave empty to repeat forever.">
                <input
                  id="task-repeat-end"
                  type="datetime-local"
                  value={values.recurringEnd}
                  onChange={(e) => set("recurringEnd", e.target.value)}
                  className={inputClass}
                  {...errProps("recurringEnd", "task-repeat-end")}
                />
              </Field>
            </div>
          )}
        </div>
        <div className="flex items-center justify-end gap-2 border-t border-zinc-100 bg-zinc-50/70 px-5 py-3 dark:border-zinc-800 dark:bg-zinc-950/40">
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" loading={saving}>
            {task ? "Save changes" : "Create task"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
