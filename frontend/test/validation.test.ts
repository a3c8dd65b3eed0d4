import { describe, expect, it } from "vitest";
import { localInputToUtc, utcToLocalInput } from "@/lib/datetime";
import { buildRule, describeRule, parseRule } from "@/lib/recurrence";
import { apiDetailsToErrors, validateSignIn, validateSignUp, validateTaskForm, type TaskFormValues } from "@/lib/validation";
import { toTaskInput } from "@/components/tasks/task-dialog";
import type { Task } from "@/lib/types";

const base: TaskFormValues = {
  title: "Pay rent",
  description: "",
  priority: "medium",
  tags: [],
  due: "",
  reminder: "",
  recurrence: "",
  recurringMode: "schedule",
  recurringEnd: "",
  timezone: "Europe/Berlin",
};

describe("validateTaskForm", () => {
  it("accepts a minimal task", () => {
    expect(validateTaskForm(base)).toEqual({});
  });
  it("requires a title within 200 characters (trimmed)", () => {
    expect(validateTaskForm({ ...base, title: "   " }).title).toBeTruthy();
    expect(validateTaskForm({ ...base, title: "x".repeat(201) }).title).toBeTruthy();
    expect(validateTaskForm({ ...base, title: ` ${"x".repeat(200)} ` }).title).toBeUndefined();
  });
  it("limits the description, the number of tags and their length", () => {
    expect(validateTaskForm({ ...base, description: "x".repeat(10_001) }).description).toBeTruthy();
    expect(validateTaskForm({ ...base, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }).tags).toBeTruthy();
    expect(validateTaskForm({ ...base, tags: ["x".repeat(51)] }).tags).toBeTruthy();
  });
  it("rejects a reminder after the due time, and a past reminder on a new task", () => {
    const now = Date.parse("2026-06-01T10:00:00Z");
    expect(validateTaskForm({ ...base, due: "2026-06-02T09:00", reminder: "2026-06-02T10:00" }).reminder).toBeTruthy();
    expect(validateTaskForm({ ...base, reminder: "2026-05-01T09:00" }, { now, isNew: true }).reminder).toBeTruthy();
    expect(validateTaskForm({ ...base, due: "2026-06-02T09:00", reminder: "2026-06-02T08:45" }, { now, isNew: true })).toEqual({});
  });
  it("needs a due date and a valid rule for a repeating task", () => {
    expect(validateTaskForm({ ...base, recurrence: "daily" }).due).toBeTruthy();
    expect(validateTaskForm({ ...base, recurrence: "daily", due: "2026-06-02T09:00" })).toEqual({});
    expect(validateTaskForm({ ...base, recurrence: "FREQ=HOURLY", due: "2026-06-02T09:00" }).recurrence).toBeTruthy();
    expect(
      validateTaskForm({ ...base, recurrence: "weekly", due: "2026-06-02T09:00", recurringEnd: "2026-06-01T09:00" }).recurringEnd,
    ).toBeTruthy();
  });
  it("rejects an unknown time zone", () => {
    expect(validateTaskForm({ ...base, timezone: "Mars/Olympus" }).timezone).toBeTruthy();
  });
});

describe("auth forms", () => {
  it("validates sign-up and sign-in", () => {
    expect(validateSignUp({ name: "", email: "nope", password: "short" })).toEqual({
      name: expect.any(String),
      email: expect.any(String),
      password: expect.any(String),
    });
    expect(validateSignUp({ name: "A", email: "a@b.co", password: "12345678" })).toEqual({});
    expect(validateSignIn({ email: "a@b.co", password: "" }).password).toBeTruthy();
  });
});

describe("API 422 details", () => {
  it("map onto form fields", () => {
    expect(apiDetailsToErrors({ title: "too long", due_date: "bad", weird: "x" })).toEqual({
      title: "too long",
      due: "bad",
      form: "x",
    });
  });
});

describe("time zones", () => {
  it("converts wall-clock input in the task's zone to UTC and back (DST-aware)", () => {
    expect(localInputToUtc("2026-01-15T09:00", "Europe/Berlin")).toBe("2026-01-15T08:00:00.000Z");
    expect(localInputToUtc("2026-07-15T09:00", "Europe/Berlin")).toBe("2026-07-15T07:00:00.000Z");
    expect(localInputToUtc("2026-07-15T09:00", "America/New_York")).toBe("2026-07-15T13:00:00.000Z");
    expect(utcToLocalInput("2026-07-15T07:00:00Z", "Europe/Berlin")).toBe("2026-07-15T09:00");
    expect(localInputToUtc("garbage", "UTC")).toBeNull();
  });
});

describe("recurrence builder", () => {
  it("builds and parses RRULE bodies", () => {
    const r = { freq: "WEEKLY" as const, interval: 2, byday: ["FR" as const, "MO" as const], bymonthday: null, count: null };
    expect(buildRule(r)).toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR");
    expect(parseRule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR")).toEqual({ ...r, byday: ["MO", "FR"] });
    expect(buildRule({ freq: "MONTHLY", interval: 1, byday: [], bymonthday: -1, count: 12 })).toBe("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12");
    expect(parseRule("FREQ=SECONDLY")).toBeNull();
    expect(parseRule("FREQ=DAILY;BYHOUR=9")).toBeNull();
  });
  it("describes rules for people", () => {
    expect(describeRule("daily")).toBe("Every day");
    expect(describeRule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR")).toBe("Every 2 weeks on Mon, Fri");
    expect(describeRule("FREQ=MONTHLY;BYMONTHDAY=-1")).toBe("Every month on the last day");
  });
});

describe("edit dialog payload", () => {
  it("sends only what changed, and null to clear", () => {
    const t: Task = {
      id: "1",
      title: "Old",
      description: "",
      status: "pending",
      priority: "medium",
      tags: ["a"],
      due_date: "2026-07-15T07:00:00Z",
      reminder_at: null,
      recurring_rule: null,
      recurring_mode: "schedule",
      recurring_end_date: null,
      timezone: "Europe/Berlin",
      parent_task_id: null,
      created_at: "",
      updated_at: "",
      completed_at: null,
      version: 3,
    };
    const v: TaskFormValues = { ...base, title: "New", tags: ["a"], due: "", timezone: "Europe/Berlin" };
    expect(toTaskInput(v, t)).toEqual({ title: "New", due_date: null });
  });
});
