// Acting on a reminder: snoozing moves it through the API and marks the fired reminder's
// notifications read (that task's only); the toast's buttons do exactly that.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { snoozeReminder, taskHref, type ReminderApi } from "@/lib/reminders";
import type { Notification, Task } from "@/lib/types";

const toast = vi.hoisted(() => Object.assign(vi.fn(), { success: vi.fn(), error: vi.fn(), dismiss: vi.fn() }));
vi.mock("sonner", () => ({ toast }));
const { ReminderToast } = await import("@/components/reminder-actions");

const TASK = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const note = (id: string, task_id: string, read = false): Notification => ({
  id,
  task_id,
  kind: "reminder",
  title: "t",
  read,
  created_at: "2026-11-26T10:00:00Z",
});

function fakeApi(over: Partial<ReminderApi> = {}) {
  const calls: string[] = [];
  const client: ReminderApi = {
    snoozeTask: vi.fn(async (id, snoozeFor) => {
      calls.push(`snooze ${id} ${snoozeFor}`);
      return { id, title: "Stretch", reminder_at: "2026-11-26T10:10:00Z" } as Task;
    }),
    notifications: vi.fn(async (unread) => {
      calls.push(`list unread=${unread}`);
      return { items: [note("n1", TASK), note("n2", OTHER), note("n3", TASK, true), note("n4", TASK)], next_cursor: null };
    }),
    markRead: vi.fn(async (id) => {
      calls.push(`read ${id}`);
    }),
    ...over,
  };
  return { client, calls };
}

describe("snoozeReminder", () => {
  it("snoozes, then marks that task's unread notifications read and no others", async () => {
    const { client, calls } = fakeApi();
    const task = await snoozeReminder(client, TASK, "1h");
    expect(task.reminder_at).toBe("2026-11-26T10:10:00Z");
    expect(calls).toEqual([`snooze ${TASK} 1h`, "list unread=true", "read n1", "read n4"]);
  });

  it("marks nothing when the snooze is refused", async () => {
    const { client, calls } = fakeApi({
      snoozeTask: vi.fn(async () => {
        throw new Error("409");
      }),
    });
    await expect(snoozeReminder(client, TASK, "10m")).rejects.toThrow("409");
    expect(calls).toEqual([]);
  });

  it("keeps the snooze when marking read fails", async () => {
    const { client } = fakeApi({
      markRead: vi.fn(async () => {
        throw new Error("down");
      }),
    });
    await expect(snoozeReminder(client, TASK, "tomorrow")).resolves.toMatchObject({ id: TASK });
  });

  it("links to the tasks page with the task open", () => {
    expect(taskHref(TASK)).toBe(`/tasks?task=${TASK}`);
  });
});

describe("the reminder toast", () => {
  const requests: { method: string; path: string; body: unknown }[] = [];
  beforeEach(() => {
    requests.length = 0;
    vi.clearAllMocks();
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = new URL(String(input), "http://app");
        requests.push({ method: init?.method ?? "GET", path: url.pathname + url.search, body: init?.body ? JSON.parse(String(init.body)) : null });
        const body = url.pathname.endsWith("/snooze")
          ? { id: TASK, title: "Stretch", reminder_at: "2026-11-26T10:10:00Z" }
          : url.pathname === "/api/notifications"
            ? { items: [note("n1", TASK)], next_cursor: null }
            : {};
        return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
      }),
    );
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("snoozes from its buttons and closes itself", async () => {
    const onOpen = vi.fn();
    render(<ReminderToast toastId="t1" taskId={TASK} title="Stretch" description="It's time." onOpen={onOpen} />);
    expect(screen.getByRole("group", { name: "Snooze “Stretch”" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Snooze for 10 minutes" }));
    await waitFor(() => expect(toast.dismiss).toHaveBeenCalledWith("t1"));
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/tasks/${TASK}/snooze`,
      "GET /api/notifications?limit=30&unread=true",
      "PATCH /api/notifications/n1",
    ]);
    expect(requests[0]!.body).toEqual({ for: "10m" });
    expect(toast.success).toHaveBeenCalledWith("Snoozed “Stretch”", expect.anything());
    expect(onOpen).not.toHaveBeenCalled();
  });

  it("opens the task and closes itself", () => {
    const onOpen = vi.fn();
    render(<ReminderToast toastId="t2" taskId={TASK} title="Stretch" description="It's time." onOpen={onOpen} />);
    fireEvent.click(screen.getByRole("button", { name: "Open “Stretch”" }));
    expect(onOpen).toHaveBeenCalledOnce();
    expect(toast.dismiss).toHaveBeenCalledWith("t2");
    expect(requests).toEqual([]);
  });
});
