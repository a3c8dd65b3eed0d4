// Views that stay: the filters round-trip through the URL (same names as the API), the
// built-in views, pushed tasks matched against several tags and the due views, and Upcoming's
// day groups.
import { describe, expect, it } from "vitest";
import { dueRangeOf, dueRangeToFilters } from "@/components/tasks/filter-bar";
import { groupByDay, inDueView, matchesFilters } from "@/lib/task-store";
import { DEFAULT_FILTERS, type Task, type TaskFilters } from "@/lib/types";
import { task as fixture } from "./task-fixture";
import { BUILT_IN_VIEWS, filtersFromSearch, sameFilters, searchFromFilters } from "@/lib/url-filters";

const task = (over: Partial<Task> = {}) => fixture(over.id ?? "t", over);

describe("filters in the URL", () => {
  it("leave the default list at a clean /tasks", () => {
    expect(searchFromFilters(DEFAULT_FILTERS)).toBe("");
    expect(filtersFromSearch("")).toEqual(DEFAULT_FILTERS);
  });

  it("round-trip every filter with the API's parameter names", () => {
    const f: TaskFilters = {
      status: "all",
      priority: "high",
      tags: ["home", "work"],
      tag_mode: "any",
      due: "upcoming",
      q: "rent",
      due_after: null,
      due_before: null,
      sort: "due_date",
    };
    const search = searchFromFilters(f);
    expect(search).toBe("status=all&priority=high&tag=home&tag=work&tag_mode=any&due=upcoming&q=rent&sort=due_date");
    expect(filtersFromSearch(search)).toEqual(f);
    const range = { ...DEFAULT_FILTERS, due_after: "2026-12-01T00:00:00.000Z", due_before: "2026-12-07T22:59:59.999Z" };
    expect(filtersFromSearch(searchFromFilters(range))).toEqual(range);
  });

  it("ignore what they do not know and keep one of each tag", () => {
    expect(
      filtersFromSearch("status=sleeping&priority=urgent&due=someday&sort=colour&tag=Home&tag=home&tag_mode=most&due_after=soon&task=x"),
    ).toEqual({ ...DEFAULT_FILTERS, tags: ["home"] });
  });

  it("say status and sort explicitly for a saved view", () => {
    expect(searchFromFilters(DEFAULT_FILTERS, { explicit: true })).toBe("status=pending&sort=-created_at");
    expect(filtersFromSearch("status=pending&sort=-created_at")).toEqual(DEFAULT_FILTERS);
  });

  it("name the built-in views and tell views apart", () => {
    const today = BUILT_IN_VIEWS.find((v) => v.id === "today")!.filters;
    expect(searchFromFilters(today)).toBe("due=today&sort=due_date");
    expect(sameFilters(today, filtersFromSearch("due=today&sort=due_date"))).toBe(true);
    expect(sameFilters(today, DEFAULT_FILTERS)).toBe(false);
    // One tag: the mode does not matter.
    expect(sameFilters({ ...DEFAULT_FILTERS, tags: ["a"] }, { ...DEFAULT_FILTERS, tags: ["a"], tag_mode: "any" })).toBe(true);
  });

  it("map the due select to the server's views or a local range", () => {
    expect(dueRangeToFilters("today", "", "")).toEqual({ due: "today", due_after: null, due_before: null });
    expect(dueRangeToFilters("any", "", "")).toEqual({ due: null, due_after: null, due_before: null });
    const custom = dueRangeToFilters("custom", "2026-12-01", "2026-12-07");
    expect(custom.due).toBeNull();
    expect(Date.parse(custom.due_after!)).toBe(new Date(2026, 11, 1).getTime());
    expect(dueRangeOf({ ...DEFAULT_FILTERS, ...custom })).toBe("custom");
    expect(dueRangeOf({ ...DEFAULT_FILTERS, due: "overdue" })).toBe("overdue");
  });
});

describe("pushed tasks against the filters", () => {
  it("match every tag, or any of them", () => {
    const both = task({ tags: ["home", "work"] });
    const home = task({ tags: ["home"] });
    const f = { ...DEFAULT_FILTERS, tags: ["home", "work"] };
    expect([matchesFilters(both, f), matchesFilters(home, f)]).toEqual([true, false]);
    const any = { ...f, tag_mode: "any" as const };
    expect([matchesFilters(both, any), matchesFilters(home, any), matchesFilters(task(), any)]).toEqual([true, true, false]);
  });

  it("fall into the due views by the local day", () => {
    const now = new Date(2026, 11, 2, 15, 0).getTime();
    const at = (d: number, h: number) => task({ due_date: new Date(2026, 11, d, h, 0).toISOString() });
    expect(inDueView(at(2, 23), "today", now)).toBe(true);
    expect(inDueView(at(3, 0), "today", now)).toBe(false);
    expect(inDueView(at(2, 0), "today", now)).toBe(true);
    expect(inDueView(at(8, 23), "upcoming", now)).toBe(true);
    expect(inDueView(at(9, 0), "upcoming", now)).toBe(false);
    expect(inDueView(at(2, 14), "overdue", now)).toBe(true);
    expect(inDueView(at(2, 16), "overdue", now)).toBe(false);
    expect(inDueView(task(), "today", now)).toBe(false);
    expect(matchesFilters(at(2, 16), { ...DEFAULT_FILTERS, due: "overdue" }, now)).toBe(false);
  });
});

describe("Upcoming", () => {
  it("groups by the local day, in due order", () => {
    const now = new Date(2026, 11, 2, 15, 0);
    const at = (id: string, d: number, h: number) => task({ id, due_date: new Date(2026, 11, d, h, 0).toISOString() });
    const groups = groupByDay([at("c", 4, 9), at("b", 3, 8), at("a", 2, 18), at("d", 3, 7), task({ id: "undated" })], now);
    expect(groups.map((g) => [g.label, g.tasks.map((t) => t.id)])).toEqual([
      ["Today", ["a"]],
      ["Tomorrow", ["d", "b"]],
      [new Date(2026, 11, 4).toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "short" }), ["c"]],
    ]);
  });
});
