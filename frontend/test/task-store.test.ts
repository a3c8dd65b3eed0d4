import { describe, expect, it } from "vitest";
import { applyPush, compareTasks, emptyState, loadPage, matchesFilters, removeTask, upsertTask } from "@/lib/task-store";
import { DEFAULT_FILTERS, type Task, type TaskFilters, type TaskPush } from "@/lib/types";
import { task } from "./task-fixture";

const all: TaskFilters = { ...DEFAULT_FILTERS, status: "all" };


const push = (type: TaskPush["type"], t: Task): TaskPush => ({ type, event_id: `${t.id}-${t.version}`, task_id: t.id, version: t.version, task: t });

describe("version ordering", () => {
  it("applies newer pushes and ignores stale or duplicate ones", () => {
    let s = applyPush(emptyState, push("task.created", task("a", { version: 1 })), all);
    s = applyPush(s, push("task.updated", task("a", { version: 3, title: "v3" })), all);
    s = applyPush(s, push("task.updated", task("a", { version: 2, title: "v2 (late)" })), all);
    s = applyPush(s, push("task.updated", task("a", { version: 3, title: "v3 replay" })), all);
    expect(s.items).toHaveLength(1);
    expect(s.items[0]!.title).toBe("v3");
  });

  it("a deleted task is not resurrected by a late update", () => {
    let s = applyPush(emptyState, push("task.created", task("a")), all);
    s = applyPush(s, push("task.deleted", task("a", { version: 3 })), all);
    s = applyPush(s, push("task.updated", task("a", { version: 2 })), all);
    expect(s.items).toHaveLength(0);
  });

  it("a task restored from the trash comes back as the next version, once", () => {
    let s = applyPush(emptyState, push("task.created", task("a")), all);
    s = applyPush(s, push("task.deleted", task("a", { version: 2 })), all);
    // The undo's own response and the push of the restore, in either order.
    s = upsertTask(s, task("a", { version: 3, title: "back" }), all);
    s = applyPush(s, push("task.updated", task("a", { version: 3, title: "back" })), all);
    expect(s.items.map((t) => [t.id, t.version, t.title])).toEqual([["a", 3, "back"]]);
    // A late echo of the deletion does not take it away again.
    s = applyPush(s, push("task.deleted", task("a", { version: 2 })), all);
    expect(s.items).toHaveLength(1);
  });

  it("a local write's response wins over the echo of the same change", () => {
    let s = upsertTask(emptyState, task("a", { version: 2, title: "mine" }), all);
    s = applyPush(s, push("task.updated", task("a", { version: 2, title: "echo" })), all);
    expect(s.items[0]!.title).toBe("mine");
  });

  it("re-sync keeps a newer pushed version over an older API copy", () => {
    let s = applyPush(emptyState, push("task.updated", task("a", { version: 5, title: "pushed" })), all);
    s = loadPage(s, [task("a", { version: 4, title: "api" }), task("b")], all);
    expect(s.items.map((t) => t.title).sort()).toEqual(["Task b", "pushed"]);
  });

  it("re-sync drops tasks deleted meanwhile and tasks whose newer version left the filter", () => {
    const open: TaskFilters = { ...DEFAULT_FILTERS, status: "pending" };
    let s = loadPage(emptyState, [task("a"), task("b")], open);
    s = applyPush(s, push("task.deleted", task("a", { version: 2 })), open);
    s = applyPush(s, push("task.completed", task("b", { version: 2, status: "completed" })), open);
    expect(s.items).toHaveLength(0);
    s = loadPage(s, [task("a"), task("b")], open); // a stale page
    expect(s.items).toHaveLength(0);
  });

  it("a page replaces the list; an appended page adds to it", () => {
    let s = loadPage(emptyState, [task("a")], all);
    s = loadPage(s, [task("b")], all);
    expect(s.items.map((t) => t.id)).toEqual(["b"]);
    s = loadPage(s, [task("c")], all, true);
    expect(s.items.map((t) => t.id).sort()).toEqual(["b", "c"]);
  });

  it("removeTask ignores an older delete", () => {
    let s = upsertTask(emptyState, task("a", { version: 4 }), all);
    s = removeTask(s, "a", 3);
    expect(s.items).toHaveLength(1);
  });
});

describe("websocket snapshots", () => {
  it("accept the wire shape: id as task_id, version beside the snapshot", () => {
    const { id: _id, version: _v, ...snap } = task("x", { title: "wire" });
    const wire = { type: "task.created", event_id: "e", task_id: "x", version: 4, task: { ...snap, task_id: "x" } } as unknown as TaskPush;
    const s = applyPush(emptyState, wire, all);
    expect(s.items).toHaveLength(1);
    expect(s.items[0]).toMatchObject({ id: "x", version: 4, title: "wire" });
    expect("task_id" in s.items[0]!).toBe(false);
    const stale = { ...wire, version: 3, task: { ...wire.task, title: "older" } } as TaskPush;
    expect(applyPush(s, stale, all).items[0]!.title).toBe("wire");
  });
});

describe("filters and sorting for pushed tasks", () => {
  it("a push that no longer matches the filters removes the task from the list", () => {
    const open: TaskFilters = { ...DEFAULT_FILTERS, status: "pending" };
    let s = applyPush(emptyState, push("task.created", task("a")), open);
    s = applyPush(s, push("task.completed", task("a", { version: 2, status: "completed" })), open);
    expect(s.items).toHaveLength(0);
  });

  it("matches status, priority, tags, search and due range", () => {
    const t = task("a", { title: "Pay Rent", priority: "high", tags: ["home"], due_date: "2026-05-10T10:00:00Z" });
    expect(matchesFilters(t, { ...all, q: "rent" })).toBe(true);
    expect(matchesFilters(t, { ...all, q: "milk" })).toBe(false);
    expect(matchesFilters(t, { ...all, priority: "low" })).toBe(false);
    expect(matchesFilters(t, { ...all, tags: ["home"] })).toBe(true);
    expect(matchesFilters(t, { ...all, tags: ["work"] })).toBe(false);
    expect(matchesFilters(t, { ...all, due_after: "2026-05-01T00:00:00Z", due_before: "2026-05-31T00:00:00Z" })).toBe(true);
    expect(matchesFilters(t, { ...all, due_before: "2026-05-01T00:00:00Z" })).toBe(false);
    expect(matchesFilters(task("b"), { ...all, due_before: "2030-01-01T00:00:00Z" })).toBe(false);
  });

  it("sorts by priority meaning, title and due date (no due date last)", () => {
    const xs = [
      task("1", { priority: "low", title: "b", due_date: null }),
      task("2", { priority: "high", title: "C", due_date: "2026-02-01T00:00:00Z" }),
      task("3", { priority: "medium", title: "a", due_date: "2026-01-01T00:00:00Z" }),
    ];
    expect([...xs].sort(compareTasks("-priority")).map((t) => t.id)).toEqual(["2", "3", "1"]);
    expect([...xs].sort(compareTasks("title")).map((t) => t.id)).toEqual(["3", "1", "2"]);
    expect([...xs].sort(compareTasks("due_date")).map((t) => t.id)).toEqual(["3", "2", "1"]);
    expect([...xs].sort(compareTasks("-due_date")).map((t) => t.id)).toEqual(["2", "3", "1"]);
  });

  it("a pushed task is inserted in sort order", () => {
    const f: TaskFilters = { ...all, sort: "title" };
    let s = loadPage(emptyState, [task("1", { title: "a" }), task("3", { title: "c" })], f);
    s = applyPush(s, push("task.created", task("2", { title: "b" })), f);
    expect(s.items.map((t) => t.title)).toEqual(["a", "b", "c"]);
  });
});
