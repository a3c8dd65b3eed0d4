// Recurrence presets and the custom rule builder (RFC 5545 RRULE bodies as the API accepts them).

export const PRESETS = ["daily", "weekdays", "weekly", "monthly", "yearly"] as const;
export type Preset = (typeof PRESETS)[number];
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export type Freq = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";

export interface CustomRule {
  freq: Freq;
  interval: number;
  byday: Weekday[];
  /** Day of month for MONTHLY: 1..31, or -1 for the last day; null = same day as the due date. */
  bymonthday: number | null;
  count: number | null;
}

export const DEFAULT_CUSTOM: CustomRule = { freq: "WEEKLY", interval: 1, byday: [], bymonthday: null, count: null };

export function buildRule(r: CustomRule): string {
  const parts = [`FREQ=${r.freq}`];
  if (r.interval > 1) parts.push(`INTERVAL=${r.interval}`);
  if (r.freq === "WEEKLY" && r.byday.length) {
    parts.push(`BYDAY=${WEEKDAYS.filter((d) => r.byday.includes(d)).join(",")}`);
  }
  if (r.freq === "MONTHLY" && r.bymonthday !== null) parts.push(`BYMONTHDAY=${r.bymonthday}`);
  if (r.count !== null && r.count > 0) parts.push(`COUNT=${r.count}`);
  return parts.join(";");
}

/** Parses an RRULE body (optionally prefixed `RRULE:`) into the builder's model; null if the builder cannot represent it. */
export function parseRule(rule: string): CustomRule | null {
  const body = rule.trim().replace(/^RRULE:/i, "");
  const map = new Map<string, string>();
  for (const part of body.split(";")) {
    const [k, v] = part.split("=");
    if (!k || v === undefined) return null;
    map.set(k.toUpperCase(), v.toUpperCase());
  }
  const freq = map.get("FREQ");
  if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY" && freq !== "YEARLY") return null;
  const known = new Set(["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT"]);
  for (const k of map.keys()) if (!known.has(k)) return null;
  const interval = map.has("INTERVAL") ? Number(map.get("INTERVAL")) : 1;
  if (!Number.isInteger(interval) || interval < 1) return null;
  const byday = (map.get("BYDAY")?.split(",") ?? []).filter(Boolean);
  if (!byday.every((d): d is Weekday => (WEEKDAYS as readonly string[]).includes(d))) return null;
  const bymonthday = map.has("BYMONTHDAY") ? Number(map.get("BYMONTHDAY")) : null;
  if (bymonthday !== null && (!Number.isInteger(bymonthday) || bymonthday === 0 || bymonthday < -1 || bymonthday > 31)) return null;
  const count = map.has("COUNT") ? Number(map.get("COUNT")) : null;
  if (count !== null && (!Number.isInteger(count) || count < 1)) return null;
  return { freq, interval, byday: byday as Weekday[], bymonthday, count };
}

const DAY_NAMES: Record<Weekday, string> = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };

/** Human description: "Every day", "Every 2 weeks on Mon, Fri", "Monthly on the last day". */
export function describeRule(rule: string | null | undefined): string {
  if (!rule) return "Does not repeat";
  const presets: Record<string, string> = {
    daily: "Every day",
    weekdays: "Every weekday",
    weekly: "Every week",
    monthly: "Every month",
    yearly: "Every year",
  };
  if (presets[rule.toLowerCase()]) return presets[rule.toLowerCase()]!;
  const r = parseRule(rule);
  if (!r) return rule;
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[r.freq];
  let s = r.interval === 1 ? `Every ${unit}` : `Every ${r.interval} ${unit}s`;
  if (r.byday.length) s += ` on ${r.byday.map((d) => DAY_NAMES[d]).join(", ")}`;
  if (r.bymonthday !== null) s += r.bymonthday === -1 ? " on the last day" : ` on day ${r.bymonthday}`;
  if (r.count) s += `, ${r.count} times`;
  return s;
}
