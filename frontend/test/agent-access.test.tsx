import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AgentAccess } from "@/components/assistant/agent-access";
import type { AgentToken } from "@/lib/assistant/types";

type Handler = (init: RequestInit | undefined) => Response | Promise<Response>;

/** A fake of the app's routes: "METHOD path" → handler; anything else fails the test. */
function routes(table: Record<string, Handler>) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input), "http://app");
      const key = `${init?.method ?? "GET"} ${url.pathname}`;
      calls.push(key);
      const handler = table[key];
      if (!handler) throw new Error(`unexpected request ${key}`);
      return handler(init);
    }),
  );
  return calls;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const token = (id: string, label: string, extra: Partial<AgentToken> = {}): AgentToken => ({
  id,
  label,
  created_at: "2026-05-01T10:00:00Z",
  expires_at: "2026-05-08T10:00:00Z",
  last_used_at: null,
  revoked_at: null,
  ...extra,
});

const rows = () => screen.getAllByTestId("agent-token");
const row = (label: string) => rows().find((r) => within(r).getByTestId("agent-token-label").textContent === label)!;

describe("AgentAccess", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("lists the user's tokens as text: label, created, last used or never, expires or revoked", async () => {
    routes({
      "GET /api/agent-tokens": () =>
        json({
          items: [
            token("tok-1", "<b>Claude</b> Desktop", { last_used_at: "2026-05-02T08:30:00Z" }),
            token("tok-2", "Script"),
            token("tok-3", "Old IDE", { revoked_at: "2026-05-03T12:00:00Z" }),
          ],
        }),
    });
    render(<AgentAccess />);
    await waitFor(() => expect(rows()).toHaveLength(3));

    const claude = row("<b>Claude</b> Desktop");
    expect(claude.querySelector("b")).toBeNull();
    expect(claude.dataset.state).toBe("active");
    expect(claude.textContent).toContain("Created");
    expect(claude.textContent).not.toContain("Last used never");
    expect(within(claude).getByTestId("agent-token-state").textContent).toMatch(/^Expires /);
    expect(within(claude).getByRole("button", { name: "Revoke the token “<b>Claude</b> Desktop”" })).toBeTruthy();

    expect(row("Script").textContent).toContain("Last used never");

    const old = row("Old IDE");
    expect(old.dataset.state).toBe("revoked");
    expect(within(old).getByTestId("agent-token-state").textContent).toMatch(/^Revoked /);
    expect(within(old).queryByRole("button")).toBeNull();
  });

  it("revokes one token with DELETE /api/agent-tokens/<id> and shows the refreshed list", async () => {
    let revoked = false;
    const calls = routes({
      "GET /api/agent-tokens": () =>
        json({ items: [token("tok-1", "Claude Desktop", revoked ? { revoked_at: "2026-05-04T09:00:00Z" } : {}), token("tok-2", "Script")] }),
      "DELETE /api/agent-tokens/tok-1": () => {
        revoked = true;
        return new Response(null, { status: 204 });
      },
    });
    render(<AgentAccess />);
    await waitFor(() => expect(rows()).toHaveLength(2));

    fireEvent.click(screen.getByRole("button", { name: "Revoke the token “Claude Desktop”" }));
    await waitFor(() => expect(row("Claude Desktop").dataset.state).toBe("revoked"));
    expect(calls).toEqual(["GET /api/agent-tokens", "DELETE /api/agent-tokens/tok-1", "GET /api/agent-tokens"]);
    expect(within(row("Claude Desktop")).getByTestId("agent-token-state").textContent).toMatch(/^Revoked /);
    expect(row("Script").dataset.state).toBe("active");
    expect(screen.getByTestId("agent-tokens-notice").textContent).toContain("Revoked “Claude Desktop”");
  });

  it("says so when a revocation is refused, and the token stays active", async () => {
    routes({
      "GET /api/agent-tokens": () => json({ items: [token("tok-1", "Claude Desktop")] }),
      "DELETE /api/agent-tokens/tok-1": () => json({ error: { code: "rate_limited", message: "slow down" } }, 429),
    });
    render(<AgentAccess />);
    fireEvent.click(await screen.findByRole("button", { name: "Revoke the token “Claude Desktop”" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Could not revoke “Claude Desktop”");
    expect(alert.textContent).toContain("too many requests");
    expect(row("Claude Desktop").dataset.state).toBe("active");
  });

  it("revokes all only after the confirmation, with DELETE /api/agent-tokens", async () => {
    let revokedAll = false;
    const calls = routes({
      "GET /api/agent-tokens": () =>
        json({
          items: [token("tok-1", "Claude Desktop"), token("tok-2", "Script")].map((t) =>
            revokedAll ? { ...t, revoked_at: "2026-05-04T09:00:00Z" } : t,
          ),
        }),
      "DELETE /api/agent-tokens": () => {
        revokedAll = true;
        return json({ revoked: 2 });
      },
    });
    render(<AgentAccess />);
    await waitFor(() => expect(rows()).toHaveLength(2));

    fireEvent.click(screen.getByRole("button", { name: "Revoke all" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog.textContent).toContain("Revoke all agent tokens?");
    expect(calls).not.toContain("DELETE /api/agent-tokens");
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    expect(calls).not.toContain("DELETE /api/agent-tokens");

    fireEvent.click(screen.getByRole("button", { name: "Revoke all" }));
    fireEvent.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Revoke all" }));
    await waitFor(() => expect(rows().every((r) => r.dataset.state === "revoked")).toBe(true));
    expect(calls.filter((c) => c === "DELETE /api/agent-tokens")).toHaveLength(1);
    expect(screen.getByTestId("agent-tokens-notice").textContent).toContain("Revoked 2 tokens");
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    expect(screen.queryByRole("button", { name: "Revoke all" })).toBeNull();
  });

  it("mints a token with the label, shows it once and lists it", async () => {
    let minted: unknown = null;
    const issued = token("tok-9", "Claude Desktop");
    routes({
      "GET /api/agent-tokens": () => json({ items: minted ? [issued] : [] }),
      "POST /api/mcp/token": (init) => {
        minted = JSON.parse(String(init?.body));
        return json({ token: "eyJ.mcp.jwt", url: "http://localhost:8000/mcp", expires_at: issued.expires_at, id: "tok-9", label: "Claude Desktop" });
      },
    });
    render(<AgentAccess />);
    expect(await screen.findByText("No tokens yet.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Name for the agent (optional)"), { target: { value: "  Claude Desktop " } });
    fireEvent.click(screen.getByRole("button", { name: "Create an access token" }));

    expect((await screen.findByTestId("agent-access-token")).textContent).toBe("eyJ.mcp.jwt");
    expect(minted).toEqual({ label: "Claude Desktop" });
    expect(screen.getByTestId("agent-access-url").textContent).toBe("http://localhost:8000/mcp");
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(row("Claude Desktop").textContent).toContain("Last used never");
    expect((screen.getByLabelText("Name for the agent (optional)") as HTMLInputElement).value).toBe("");
  });

  it("sends no label when the field is left empty", async () => {
    let minted: unknown = null;
    routes({
      "GET /api/agent-tokens": () => json({ items: [] }),
      "POST /api/mcp/token": (init) => {
        minted = JSON.parse(String(init?.body));
        return json({ error: { code: "unavailable", message: "down" } }, 503);
      },
    });
    render(<AgentAccess />);
    fireEvent.click(await screen.findByRole("button", { name: "Create an access token" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Could not create a token");
    expect(minted).toEqual({});
    expect(screen.queryByTestId("agent-access-token")).toBeNull();
  });
});
