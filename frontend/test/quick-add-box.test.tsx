// The quick-add box against a stubbed /api/tasks/parse: it highlights and lists what the server
// recognised, a chip's button keeps that phrase as text, and Enter creates the parsed task.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createRef } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QuickAdd } from "@/components/tasks/quick-add";
import type { TaskInput } from "@/lib/api";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A stand-in for the parser: recognises `tomorrow 9am` and `#home` unless quoted. */
function fakeParse(text: string) {
  const spans: { kind: string; start: number; end: number; text: string }[] = [];
  let title = text;
  let due: string | null = null;
  const tags: string[] = [];
  const at = text.indexOf("tomorrow 9am");
  if (at >= 0 && text[at - 1] !== '"') {
    spans.push({ kind: "due", start: at, end: at + 12, text: "tomorrow 9am" });
    title = title.replace("tomorrow 9am", "");
    due = "2026-11-27T08:00:00Z";
  }
  const tag = text.indexOf("#home");
  if (tag >= 0) {
    spans.push({ kind: "tag", start: tag, end: tag + 5, text: "#home" });
    title = title.replace("#home", "");
    tags.push("home");
  }
  title = title.replaceAll('"', "").replace(/\s+/g, " ").trim();
  return { task: { title, due_date: due, tags: tags.length ? tags : null, timezone: "UTC", priority: null }, spans };
}

function stubParse(answer: (text: string) => Response = (text) => json(fakeParse(text))) {
  const bodies: { text: string; timezone: string }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { text: string; timezone: string };
      bodies.push(body);
      return answer(body.text);
    }),
  );
  return bodies;
}

function renderBox() {
  const added: TaskInput[] = [];
  const inputRef = createRef<HTMLInputElement>();
  render(
    <QuickAdd
      inputRef={inputRef}
      onAdd={async (input) => {
        added.push(input);
        return true;
      }}
    />,
  );
  const input = screen.getByRole("textbox", { name: "Add a task" }) as HTMLInputElement;
  return { added, input };
}

describe("the quick-add box", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("highlights and lists what was recognised, in the browser's zone", async () => {
    const bodies = stubParse();
    const { input } = renderBox();
    fireEvent.change(input, { target: { value: "Pay rent tomorrow 9am #home" } });
    await screen.findByRole("button", { name: "Keep “tomorrow 9am” as text" });
    expect(screen.getByRole("button", { name: "Keep “#home” as text" })).toBeTruthy();
    expect(bodies.at(-1)).toEqual({
      text: "Pay rent tomorrow 9am #home",
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
    const marks = [...screen.getByTestId("quick-add-highlights").querySelectorAll("mark")];
    expect(marks.map((m) => [m.dataset.kind, m.textContent])).toEqual([
      ["due", "tomorrow 9am"],
      ["tag", "#home"],
    ]);
    expect(screen.getByText("Tag home")).toBeTruthy();
  });

  it("keeps a phrase as text by quoting it, and creates what the server read", async () => {
    stubParse();
    const { input, added } = renderBox();
    fireEvent.change(input, { target: { value: "Pay rent tomorrow 9am #home" } });
    fireEvent.click(await screen.findByRole("button", { name: "Keep “tomorrow 9am” as text" }));
    expect(input.value).toBe('Pay rent "tomorrow 9am" #home');
    await waitFor(() =>
      expect(screen.queryByRole("button", { name: "Keep “tomorrow 9am” as text" })).toBeNull(),
    );
    fireEvent.submit(input.form!);
    await waitFor(() => expect(added).toHaveLength(1));
    expect(added[0]).toEqual({ title: "Pay rent tomorrow 9am", tags: ["home"], timezone: "UTC" });
    await waitFor(() => expect(input.value).toBe(""));
  });

  it("reads the text at once when Enter comes before the pause", async () => {
    const bodies = stubParse();
    const { input, added } = renderBox();
    fireEvent.change(input, { target: { value: "Call mum tomorrow 9am" } });
    fireEvent.submit(input.form!);
    await waitFor(() => expect(added).toHaveLength(1));
    expect(added[0]).toMatchObject({ title: "Call mum", due_date: "2026-11-27T08:00:00Z" });
    expect(bodies).toHaveLength(1);
  });

  it("shows the server's refusal and creates nothing", async () => {
    stubParse(() =>
      json({ error: { code: "validation_failed", message: "tags: at most 20 tags", details: null } }, 422),
    );
    const { input, added } = renderBox();
    fireEvent.change(input, { target: { value: "x #a #b" } });
    expect((await screen.findByRole("alert")).textContent).toContain("at most 20 tags");
    fireEvent.submit(input.form!);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("at most 20 tags"));
    expect(added).toHaveLength(0);
    expect(input.getAttribute("aria-invalid")).toBe("true");
  });

  it("asks for a title when every word was read", async () => {
    stubParse();
    const { input, added } = renderBox();
    fireEvent.change(input, { target: { value: "tomorrow 9am" } });
    fireEvent.submit(input.form!);
    expect((await screen.findByRole("alert")).textContent).toContain("Add a title");
    expect(added).toHaveLength(0);
  });
});
