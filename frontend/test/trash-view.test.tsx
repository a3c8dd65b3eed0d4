// The trash page against a stubbed API: it lists what can be restored, restores and deletes
// for good one entry at a time, and empties the trash only after confirmation.
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const toast = vi.hoisted(() => ({ success: vi.fn(), error: vi.fn() }));
vi.mock("sonner", () => ({ toast }));
const { TrashView } = await import("@/components/trash/trash-view");

const entry = (id: string, title: string) => ({
  task: { id, title, version: 2 },
  deleted_at: new Date(Date.now() - 60_000).toISOString(),
  purge_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
});

describe("the trash page", () => {
  let calls: string[];
  let answers: Record<string, () => Response>;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  beforeEach(() => {
    vi.clearAllMocks();
    calls = [];
    answers = {
      "GET /api/tasks/trash": () => json({ items: [entry("a", "Pay rent"), entry("b", "Old idea")], next_cursor: null }),
      "POST /api/tasks/trash/a/restore": () => json({ id: "a", title: "Pay rent", version: 3 }),
      "DELETE /api/tasks/trash/b": () => new Response(null, { status: 204 }),
      "DELETE /api/tasks/trash": () => json({ deleted: 2 }),
    };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const key = `${init?.method ?? "GET"} ${new URL(String(input), "http://app").pathname}`;
        calls.push(key);
        return (answers[key] ?? (() => json({ error: { code: "not_found", message: "gone" } }, 404)))();
      }),
    );
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("lists the deleted tasks with how long they can be restored", async () => {
    render(<TrashView />);
    const rows = await screen.findAllByTestId("trash-entry");
    expect(rows.map((r) => within(r).getByTestId("trash-title").textContent)).toEqual(["Pay rent", "Old idea"]);
    expect(rows[0]!.textContent).toMatch(/Deleted 1 minute ago · restorable until \S+/);
  });

  it("restores one and deletes another for good", async () => {
    render(<TrashView />);
    fireEvent.click(await screen.findByRole("button", { name: "Restore “Pay rent”" }));
    await waitFor(() => expect(screen.queryByText("Pay rent")).toBeNull());
    expect(toast.success).toHaveBeenCalledWith("Restored “Pay rent”", expect.anything());
    fireEvent.click(screen.getByRole("button", { name: "Delete “Old idea” for good" }));
    expect(await screen.findByText("The trash is empty")).toBeTruthy();
    expect(calls).toEqual(["GET /api/tasks/trash", "POST /api/tasks/trash/a/restore", "DELETE /api/tasks/trash/b"]);
  });

  it("drops an entry another device already restored, and says so", async () => {
    delete answers["POST /api/tasks/trash/a/restore"];
    render(<TrashView />);
    fireEvent.click(await screen.findByRole("button", { name: "Restore “Pay rent”" }));
    await waitFor(() => expect(screen.queryByText("Pay rent")).toBeNull());
    expect(toast.error).toHaveBeenCalledWith("gone");
  });

  it("empties the trash only once confirmed", async () => {
    render(<TrashView />);
    await screen.findAllByTestId("trash-entry");
    fireEvent.click(screen.getByRole("button", { name: /Empty trash/ }));
    const dialog = await screen.findByRole("alertdialog");
    expect(calls).toEqual(["GET /api/tasks/trash"]);
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    fireEvent.click(screen.getByRole("button", { name: /Empty trash/ }));
    fireEvent.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Empty trash" }));
    expect(await screen.findByText("The trash is empty")).toBeTruthy();
    expect(calls).toEqual(["GET /api/tasks/trash", "DELETE /api/tasks/trash"]);
    expect(toast.success).toHaveBeenCalledWith("Deleted 2 tasks for good");
  });
});
