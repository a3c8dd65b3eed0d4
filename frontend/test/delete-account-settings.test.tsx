import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeleteAccountSettings } from "@/components/settings/delete-account";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function answer(response: () => Response) {
  const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => response());
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function openAndSubmit(password: string) {
  fireEvent.click(screen.getByRole("button", { name: "Delete account…" }));
  const input = await screen.findByLabelText("Your password");
  fireEvent.change(input, { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "Delete my account" }));
  return input;
}

describe("DeleteAccountSettings", () => {
  it("asks for the password in an alert dialog and deletes with it", async () => {
    const fetchMock = answer(() => new Response(null, { status: 204 }));
    const onDeleted = vi.fn();
    render(<DeleteAccountSettings onDeleted={onDeleted} />);
    await openAndSubmit("correct horse battery");
    expect(screen.getByRole("alertdialog", { name: "Delete your account?" })).toBeTruthy();
    await waitFor(() => expect(onDeleted).toHaveBeenCalledTimes(1));
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(String(url)).toBe("/api/account");
    expect(init?.method).toBe("DELETE");
    expect(JSON.parse(String(init?.body))).toEqual({ password: "correct horse battery" });
  });

  it("a wrong password says nothing was deleted, keeps the dialog open and the focus in the field", async () => {
    answer(() => json({ error: { code: "wrong_password", message: "That is not your password." } }, 403));
    const onDeleted = vi.fn();
    render(<DeleteAccountSettings onDeleted={onDeleted} />);
    const input = await openAndSubmit("guess");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("That is not your password. Nothing was deleted."));
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(document.activeElement).toBe(input);
    expect(onDeleted).not.toHaveBeenCalled();
  });

  it("cannot be submitted without a password", async () => {
    const fetchMock = answer(() => new Response(null, { status: 204 }));
    render(<DeleteAccountSettings onDeleted={vi.fn()} />);
    fireEvent.click(screen.getByRole("button", { name: "Delete account…" }));
    await screen.findByLabelText("Your password");
    expect((screen.getByRole("button", { name: "Delete my account" }) as HTMLButtonElement).disabled).toBe(true);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
