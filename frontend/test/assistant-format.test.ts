import { describe, expect, it } from "vitest";
import { cardOutcome, cardQuestion, limitMessage, retryAfterText, summarizeArgs, summarizeResult } from "@/lib/assistant/format";

describe("tool call summaries", () => {
  it("describe the arguments in a short line", () => {
    expect(summarizeArgs('{"title":"Buy milk","when":"tomorrow 5pm","tags":["home"],"priority":"high"}')).toBe(
      "“Buy milk” · due tomorrow 5pm · #home · high priority",
    );
    expect(summarizeArgs('{"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}')).toBe("task 0193a1b2");
    expect(summarizeArgs('{"when":null,"limit":5}')).toBe("no due date · limit: 5");
    expect(summarizeArgs("{}")).toBe("");
  });

  it("show malformed arguments as (shortened) text rather than failing", () => {
    expect(summarizeArgs('{"title": "x', 20)).toBe('{"title": "x');
    expect(summarizeArgs("a".repeat(200), 10)).toBe("aaaaaaaaa…");
  });

  it("describe results: created tasks, matches, errors and cards", () => {
    expect(summarizeResult({ created: { title: "Buy milk", due_local: "Fri 2026-11-27 17:00" } })).toBe(
      "Created “Buy milk”, due Fri 2026-11-27 17:00",
    );
    expect(summarizeResult({ tasks: [{}, {}], next_cursor: null })).toBe("2 tasks found");
    expect(summarizeResult({ tasks: [] })).toBe("No tasks found");
    expect(summarizeResult({ error: { code: "invalid_date", message: "cannot read 'someday'" } })).toBe("cannot read 'someday'");
    expect(summarizeResult({ status: "confirmation_required", confirmation: {} })).toBe("Waiting for your confirmation");
  });
});

describe("confirmation cards", () => {
  const one = { id: "c", action: "delete_task", task: { id: "t", title: "Buy milk" } };
  const bulk = { id: "c", action: "complete_tasks", tasks: [{ id: "a", title: "A" }, { id: "b", title: "B" }] };

  it("ask about one task or several", () => {
    expect(cardQuestion(one)).toBe("Delete this task?");
    expect(cardQuestion(bulk)).toBe("Complete these 2 tasks?");
  });

  it("say what the decision did", () => {
    expect(cardOutcome(one, "confirmed")).toBe("Deleted the task");
    expect(cardOutcome(bulk, "confirmed")).toBe("Completed the 2 tasks");
    expect(cardOutcome(one, "cancelled")).toBe("Cancelled — nothing was changed");
    expect(cardOutcome(one, "expired")).toBe("Expired — nothing was changed");
  });
});

describe("limits", () => {
  it("read Retry-After as seconds or as a date", () => {
    expect(retryAfterText("60")).toBe("in 60 s");
    expect(retryAfterText("600")).toBe("in 10 min");
    expect(retryAfterText("7200")).toBe("in 2 h");
    expect(retryAfterText(new Date(1_000_000 + 30_000).toUTCString(), 1_000_000)).toBe("in 30 s");
    expect(retryAfterText("soon")).toBe("");
    expect(retryAfterText(null)).toBe("");
  });

  it("explain rate limits and spent budgets clearly", () => {
    expect(limitMessage("rate_limited", "60", "x")).toBe("You are sending messages faster than the assistant allows. Try again in 60 s.");
    expect(limitMessage("token_budget_exhausted", "3600", "x")).toBe("You have used today's assistant budget. You can continue in 60 min.");
    expect(limitMessage("token_budget_exhausted", null, "x")).toBe("You have used today's assistant budget. You can continue tomorrow.");
    expect(limitMessage("other", null, "fallback")).toBe("fallback");
  });
});
