// @vitest-environment node
import { describe, expect, it } from "vitest";
import { FORWARDED_SHAPES, matchRoute } from "@/lib/server/allow-list";

const split = (path: string) => path.split("/").slice(1);
const match = (prefix: keyof typeof FORWARDED_SHAPES, method: string, path: string) =>
  matchRoute(FORWARDED_SHAPES[prefix], method, split(path));

const ID = "0b8e7c36-5f7e-4a51-9d35-1f2b3c4d5e6f";

describe("FORWARDED_SHAPES", () => {
  it("lists exactly the routes the services serve to the browser", () => {
    const listed = Object.values(FORWARDED_SHAPES)
      .flat()
      .map((s) => `${s.methods.join(",")} ${s.path}`)
      .sort();
    expect(listed).toEqual(
      [
        "GET,POST /api/tasks",
        "GET,PATCH,DELETE /api/tasks/{id}",
        "POST /api/tasks/{id}/complete",
        "POST /api/tasks/{id}/reopen",
        "POST /api/tasks/{id}/snooze",
        "GET,DELETE /api/tasks/trash",
        "DELETE /api/tasks/trash/{id}",
        "POST /api/tasks/trash/{id}/restore",
        "POST /api/tasks/parse",
        "GET /api/tasks/export",
        "POST /api/tasks/import",
        "GET,POST /api/views",
        "PATCH,DELETE /api/views/{id}",
        "GET /api/assistant/status",
        "GET,POST /api/assistant/threads",
        "DELETE /api/assistant/threads/{id}",
        "GET /api/assistant/threads/{id}/items",
        "POST /api/assistant/threads/{id}/messages",
        "GET /api/assistant/confirmations",
        "POST /api/assistant/confirmations/{id}",
        "GET /api/notifications",
        "GET /api/notifications/unread-count",
        "POST /api/notifications/read-all",
        "PATCH,DELETE /api/notifications/{id}",
        "GET /api/push/public-key",
        "POST,DELETE /api/push/subscriptions",
        "GET /api/audit",
        "GET /api/audit/verify",
        "GET,POST,DELETE /api/agent-tokens",
        "DELETE /api/agent-tokens/{id}",
      ].sort(),
    );
  });
});

describe("matchRoute", () => {
  it("builds the upstream path from the shape, with the id in the placeholder", () => {
    expect(match("tasks", "GET", "/api/tasks")).toEqual({ ok: true, path: "/api/tasks" });
    expect(match("tasks", "PATCH", `/api/tasks/${ID}`)).toEqual({ ok: true, path: `/api/tasks/${ID}` });
    expect(match("tasks", "POST", `/api/tasks/${ID}/reopen`)).toEqual({ ok: true, path: `/api/tasks/${ID}/reopen` });
    // The trash's literal segment wins over `{id}`; its own id goes in its placeholder.
    expect(match("tasks", "GET", "/api/tasks/trash")).toEqual({ ok: true, path: "/api/tasks/trash" });
    expect(match("tasks", "POST", `/api/tasks/trash/${ID}/restore`)).toEqual({ ok: true, path: `/api/tasks/trash/${ID}/restore` });
    expect(match("tasks", "DELETE", `/api/tasks/trash/${ID}`)).toEqual({ ok: true, path: `/api/tasks/trash/${ID}` });
    expect(match("assistant", "POST", `/api/assistant/threads/${ID}/messages`)).toEqual({
      ok: true,
      path: `/api/assistant/threads/${ID}/messages`,
    });
    expect(match("notifications", "DELETE", `/api/notifications/${ID}`)).toEqual({ ok: true, path: `/api/notifications/${ID}` });
    expect(match("audit", "GET", "/api/audit/verify")).toEqual({ ok: true, path: "/api/audit/verify" });
  });

  it("lets a literal segment win over a placeholder", () => {
    expect(match("tasks", "POST", "/api/tasks/parse")).toEqual({ ok: true, path: "/api/tasks/parse" });
    // …and then the literal route's methods decide: no GET of a task called "parse".
    expect(match("tasks", "GET", "/api/tasks/parse")).toEqual({ ok: false, status: 405, allow: ["POST"] });
    expect(match("notifications", "GET", "/api/notifications/unread-count")).toMatchObject({ ok: true });
    expect(match("notifications", "PATCH", "/api/notifications/read-all")).toMatchObject({ ok: false, status: 405 });
  });

  it("answers 405 for a known shape with a method it does not take", () => {
    expect(match("tasks", "PUT", `/api/tasks/${ID}`)).toEqual({ ok: false, status: 405, allow: ["GET", "PATCH", "DELETE"] });
    expect(match("tasks", "DELETE", "/api/tasks")).toMatchObject({ ok: false, status: 405 });
    expect(match("audit", "POST", "/api/audit")).toMatchObject({ ok: false, status: 405 });
    expect(match("assistant", "HEAD", "/api/assistant/status")).toMatchObject({ ok: false, status: 405 });
  });

  it.each([
    ["a dot-dot segment", "GET", ["api", "audit", "..", "tasks"]],
    ["a dot segment", "GET", ["api", "tasks", "."]],
    ["an encoded slash, decoded into a segment", "GET", ["api", "tasks", "a/b"]],
    ["an encoded backslash, decoded into a segment", "GET", ["api", "tasks", "a\\b"]],
    ["an undecoded escape", "GET", ["api", "tasks", "%2e%2e"]],
    ["an empty segment", "GET", ["api", "tasks", ""]],
    ["a segment longer than 128 characters", "GET", ["api", "tasks", "a".repeat(129)]],
    ["a query or fragment smuggled into a segment", "GET", ["api", "tasks", "x?admin=1"]],
    ["a route the service does not list", "GET", ["api", "tasks", ID, "history"]],
    ["a route of another prefix", "GET", ["api", "tasks", "..", "audit"]],
    ["a placeholder where a literal belongs", "GET", ["api", "audit", ID]],
    ["more segments than any shape", "POST", ["api", "tasks", ID, "complete", "x"]],
  ])("refuses %s with 404", (_what, method, segments) => {
    expect(matchRoute(FORWARDED_SHAPES.tasks.concat(FORWARDED_SHAPES.audit), method, segments)).toEqual({ ok: false, status: 404 });
  });

  it("lets the agent token registry be listed, added to and revoked from, and nothing else", () => {
    expect(match("agent-tokens", "GET", "/api/agent-tokens")).toEqual({ ok: true, path: "/api/agent-tokens" });
    expect(match("agent-tokens", "POST", "/api/agent-tokens")).toEqual({ ok: true, path: "/api/agent-tokens" });
    expect(match("agent-tokens", "DELETE", "/api/agent-tokens")).toEqual({ ok: true, path: "/api/agent-tokens" });
    expect(match("agent-tokens", "DELETE", `/api/agent-tokens/${ID}`)).toEqual({ ok: true, path: `/api/agent-tokens/${ID}` });
    // No editing a token (un-revoking, extending), no reading one by id.
    expect(match("agent-tokens", "PATCH", `/api/agent-tokens/${ID}`)).toEqual({ ok: false, status: 405, allow: ["DELETE"] });
    expect(match("agent-tokens", "PUT", `/api/agent-tokens/${ID}`)).toMatchObject({ ok: false, status: 405 });
    expect(match("agent-tokens", "GET", `/api/agent-tokens/${ID}`)).toMatchObject({ ok: false, status: 405 });
    expect(match("agent-tokens", "PATCH", "/api/agent-tokens")).toEqual({ ok: false, status: 405, allow: ["GET", "POST", "DELETE"] });
    expect(match("agent-tokens", "DELETE", `/api/agent-tokens/${ID}/x`)).toEqual({ ok: false, status: 404 });
    expect(matchRoute(FORWARDED_SHAPES["agent-tokens"], "DELETE", ["api", "agent-tokens", ".."])).toEqual({ ok: false, status: 404 });
    expect(matchRoute(FORWARDED_SHAPES["agent-tokens"], "GET", ["api", "tasks"])).toEqual({ ok: false, status: 404 });
  });

  it("takes a placeholder of up to 128 id characters", () => {
    expect(match("tasks", "GET", `/api/tasks/${"a".repeat(128)}`)).toMatchObject({ ok: true });
    expect(match("tasks", "GET", "/api/tasks/Ab_9-z")).toMatchObject({ ok: true });
  });
});
