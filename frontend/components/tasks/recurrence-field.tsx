"use client";
import { cn } from "@/lib/cn";
import { buildRule, DEFAULT_CUSTOM, parseRule, PRESETS, WEEKDAYS, type CustomRule, type Freq, type Weekday } from "@/lib/recurrence";
import { inputClass } from "../ui";

const PRESET_LABELS: Record<string, string> = {
  "": "Does not repeat",
  daily: "Every day",
  weekdays: "Every weekday (Mon–Fri)",
  weekly: "Every week",
  monthly: "Every month",
  yearly: "Every year",
  custom: "Custom…",
};

const DAY_LABEL: Record<Weekday, string> = { MO: "M", TU: "T", WE: "W", TH: "T", FR: "F", SA: "S", SU: "S" };
const DAY_NAME: Record<Weekday, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};

export function RecurrenceField({
  value,
  onChange,
  invalid,
}: {
  value: string;
  onChange: (rule: string) => void;
  invalid?: boolean;
}) {
  const isPreset = value === "" || (PRESETS as readonly string[]).includes(value);
  const custom: CustomRule = isPreset ? DEFAULT_CUSTOM : (parseRule(value) ?? DEFAULT_CUSTOM);
  const update = (patch: Partial<CustomRule>) => onChange(buildRule({ ...custom, ...patch }));
  const selectClass = cn(inputClass, "h-9 py-1");

  return (
    <div className="space-y-3">
      <select
        id="task-repeat"
        value={isPreset ? value : "custom"}
        aria-invalid={invalid}
        onChange={(e) => onChange(e.target.value === "custom" ? buildRule(custom) : e.target.value)}
        className={selectClass}
      >
        {["", ...PRESETS, "custom"].map((p) => (
          <option key={p} value={p}>
            {PRESET_LABELS[p]}
          </option>
        ))}
      </select>
      {!isPreset && (
        <fieldset className="space-y-3 rounded-lg border border-zinc-200 bg-zinc-50/60 p-3 dark:border-zinc-800 dark:bg-zinc-950/40">
          <legend className="sr-only">Custom repeat rule</legend>
          <div className="flex items-center gap-2 text-sm">
            <label htmlFor="rr-interval">Every</label>
            <input
              id="rr-interval"
              type="number"
              min={1}
              max={365}
              value={custom.interval}
              onChange={(e) => update({ interval: Math.max(1, Math.min(365, Number(e.target.value) || 1)) })}
              className={cn(inputClass, "h-9 w-20 py-1")}
            />
            <label htmlFor="rr-freq" className="sr-only">
              Unit
            </label>
            <select
              id="rr-freq"
              value={custom.freq}
              onChange={(e) => update({ freq: e.target.value as Freq, byday: [], bymonthday: null })}
              className={cn(selectClass, "w-auto")}
            >
              <option value="DAILY">{custom.interval > 1 ? "days" : "day"}</option>
              <option value="WEEKLY">{custom.interval > 1 ? "weeks" : "week"}</option>
              <option value="MONTHLY">{custom.interval > 1 ? "months" : "month"}</option>
              <option value="YEARLY">{custom.interval > 1 ? "years" : "year"}</option>
            </select>
          </div>
          {custom.freq === "WEEKLY" && (
            <div role="group" aria-label="On days" className="flex gap-1">
              {WEEKDAYS.map((d) => {
                const on = custom.byday.includes(d);
                return (
                  <button
                    key={d}
                    type="button"
                    aria-pressed={on}
                    aria-label={DAY_NAME[d]}
                    onClick={() => update({ byday: on ? custom.byday.filter((x) => x !== d) : [...custom.byday, d] })}
                    className={cn(
                      "size-8 rounded-full text-xs font-semibold transition",
                      on
                        ? "bg-brand-600 text-white"
                        : "border border-zinc-200 bg-white text-zinc-600 hover:border-brand-400 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300",
                    )}
                  >
                    {DAY_LABEL[d]}
                  </button>
                );
              })}
            </div>
          )}
          {custom.freq === "MONTHLY" && (
            <div className="flex items-center gap-2 text-sm">
              <label htmlFor="rr-monthday">On</label>
              <select
                id="rr-monthday"
                value={custom.bymonthday ?? ""}
                onChange={(e) => update({ bymonthday: e.target.value ? Number(e.target.value) : null })}
                className={cn(selectClass, "w-auto")}
              >
                <option value="">the due date&apos;s day</option>
                {Array.from({ length: 31 }, (_, i) => i + 1).map((d) => (
                  <option key={d} value={d}>
                    day {d}
                  </option>
                ))}
                <option value={-1}>the last day</option>
              </select>
            </div>
          )}
          <div className="flex items-center gap-2 text-sm">
            <label htmlFor="rr-count">Stop after</label>
            <input
              id="rr-count"
              type="number"
              min={1}
              max={1000}
              placeholder="∞"
              value={custom.count ?? ""}
              onChange={(e) => update({ count: e.target.value ? Math.max(1, Number(e.target.value)) : null })}
              className={cn(inputClass, "h-9 w-20 py-1")}
            />
            <span className="text-zinc-500 dark:text-zinc-400">occurrences</span>
          </div>
          <p className="font-mono text-[11px] text-zinc-400" aria-label="Rule">
            {value}
          </p>
        </fieldset>
      )}
    </div>
  );
}
