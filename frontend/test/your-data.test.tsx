import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { YourDataSettings } from "@/components/settings/your-data";

vi.mock("sonner", () => ({ toast: { success: vi.fn(), error: vi.fn() } }));

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function answer(response: Response) {
  const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => response);
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

const choose = (text: string) =>
  fireEvent.change(screen.getByLabelText("Import from Todoist"), {
    target: { files: [new File([text], "project.csv", { type: "text/csv" })] },
  });

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("YourDataSettings", () => {
  it("offers both exports as downloads", () => {
    render(<YourDataSettings />);
    expect(screen.getByRole("link", { name: "Download JSON" }).getAttribute("href")).toBe("/api/tasks/export?format=json");
    expect(screen.getByRole("link", { name: "Download CSV" }).getAttribute("href")).toBe("/api/tasks/export?format=csv");
  });

  it("sends the chosen file as text/csv in the browser's zone and lists what happened by line", async () => {
    const fetchMock = answer(json({ imported: 2, ids: ["a", "b"], notes: [{ line: 4, message: "the date \"whenever\" was not understood" }] }, 201));
    render(<YourDataSettings />);
    choose("TYPE,CONTENT\ntask,One\n");
    await screen.findByText("Imported 2 tasks.");
    expect(screen.getByText(/Line 4: the date "whenever" was not understood/)).toBeTruthy();
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(String(url)).toMatch(/^\/api\/tasks\/import\?format=todoist&timezone=/);
    expect(init?.method).toBe("POST");
    expect(new Headers(init?.headers).get("content-type")).toBe("text/csv");
    expect(init?.body).toBe("TYPE,CONTENT\ntask,One\n");
  });

  it("says why nothing was imported", async () => {
    answer(json({ error: { code: "validation_failed", message: "invalid", details: { file: "not a Todoist CSV export" } } }, 422));
    render(<YourDataSettings />);
    choose("title\nmilk\n");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("Nothing was imported: not a Todoist CSV export"));
    expect(screen.queryByTestId("import-result")).toBeNull();
  });
});
