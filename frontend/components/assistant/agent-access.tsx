"use client";
// "Use your tasks from another agent": backend-api's /mcp speaks the Model Context Protocol, so
// an external agent (a desktop assistant, an IDE, a script) can use the same tools as this
// panel. This mints a token bound to that endpoint (audience = the MCP URL) for the signed-in
// user, optionally named, and shows it once; below it the user's tokens (never the tokens
// themselves: name, dates, state), each of which can be revoked, or all at once. Deleting and
// bulk changes asked for by such an agent wait as confirmation cards in this panel.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { Check, Copy, PlugZap } from "lucide-react";
import { ApiError } from "@/lib/api";
import { assistantApi } from "@/lib/assistant/api";
import type { AgentToken, IssuedAgentToken } from "@/lib/assistant/types";
import { cn } from "@/lib/cn";
import { Dialog } from "../dialog";
import { Button, inputClass } from "../ui";

const MAX_LABEL = 100;

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

/** What to tell the user about a refused call; `what` is e.g. "Could not revoke the token". */
function failure(e: unknown, what: string): string {
  if (e instanceof ApiError && e.status === 429) return `${what}: too many requests right now. Try again in a minute.`;
  if (e instanceof ApiError && e.status === 401) return `${what}: you are signed out. Sign in again.`;
  return `${what}. Try again.`;
}

export function AgentAccess() {
  const [label, setLabel] = useState("");
  const [issued, setIssued] = useState<IssuedAgentToken | null>(null);
  const [minting, setMinting] = useState(false);
  const [mintError, setMintError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [tokens, setTokens] = useState<AgentToken[]>([]);
  const [listState, setListState] = useState<"loading" | "ready" | "error">("loading");
  const [revoking, setRevoking] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const [allBusy, setAllBusy] = useState(false);
  const [notice, setNotice] = useState("");
  const [actionError, setActionError] = useState<string | null>(null);
  const listTitle = useRef<HTMLHeadingElement>(null);
  const labelId = useId();
  const listTitleId = useId();

  const load = useCallback(async () => {
    try {
      setTokens(await assistantApi.agentTokens());
      setListState("ready");
    } catch {
      setListState("error");
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const issue = async () => {
    setMinting(true);
    setMintError(null);
    try {
      setIssued(await assistantApi.mcpToken(label.trim() || undefined));
      setLabel("");
      setCopied(false);
    } catch (e) {
      setMintError(failure(e, "Could not create a token"));
    } finally {
      setMinting(false);
    }
    await load();
  };

  const copy = async () => {
    if (!issued) return;
    try {
      await navigator.clipboard.writeText(issued.token);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard refused (insecure context): the token stays selectable on screen.
    }
  };

  const revoke = async (t: AgentToken) => {
    setRevoking(t.id);
    setActionError(null);
    setNotice("");
    try {
      await assistantApi.revokeAgentToken(t.id);
      setNotice(`Revoked “${t.label}”. Agents using it are refused from now on.`);
      if (issued?.id === t.id) setIssued(null);
    } catch (e) {
      setActionError(failure(e, `Could not revoke “${t.label}”`));
    } finally {
      setRevoking(null);
    }
    await load();
    // The button went with the token's active state: keep focus at the list.
    listTitle.current?.focus();
  };

  const revokeAll = async () => {
    setAllBusy(true);
    setActionError(null);
    setNotice("");
    try {
      const n = await assistantApi.revokeAllAgentTokens();
      setNotice(`Revoked ${n} ${n === 1 ? "token" : "tokens"}. Agents using them are refused from now on.`);
      setIssued(null);
      setConfirmAll(false);
      // The dialog gives focus back to "Revoke all", which is gone now.
      window.setTimeout(() => listTitle.current?.focus(), 20);
    } catch (e) {
      setActionError(failure(e, "Could not revoke your tokens"));
      setConfirmAll(false);
    } finally {
      setAllBusy(false);
    }
    await load();
  };

  const active = tokens.filter((t) => !t.revoked_at);

  return (
    <section data-testid="agent-access" aria-labelledby="agent-access-title" className="mt-6 rounded-xl border border-zinc-200 p-3 text-sm dark:border-zinc-800">
      <h3 id="agent-access-title" className="flex items-center gap-2 font-medium">
        <PlugZap className="size-4 text-zinc-500" aria-hidden /> Use your tasks from another agent
      </h3>
      <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
        Agents that speak MCP (streamable HTTP) get the same tools as this assistant, acting as you. Deleting and bulk
        changes still wait for your confirmation here. A token works for 7 days or until you revoke it; signing out of
        every device revokes them all.
      </p>
      <form
        className="mt-3"
        onSubmit={(e) => {
          e.preventDefault();
          void issue();
        }}
      >
        <label htmlFor={labelId} className="block text-xs font-medium text-zinc-700 dark:text-zinc-300">
          Name for the agent (optional)
        </label>
        <input
          id={labelId}
          data-testid="agent-access-label"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          maxLength={MAX_LABEL}
          placeholder="e.g. Claude Desktop"
          autoComplete="off"
          className={cn(inputClass, "mt-1 h-8 py-1 text-[13px]")}
        />
        <Button type="submit" size="sm" className="mt-2" loading={minting} data-testid="agent-access-create">
          Create an access token
        </Button>
        {mintError && (
          <p role="alert" className="mt-2 text-xs text-red-600 dark:text-red-400">
            {mintError}
          </p>
        )}
      </form>
      {issued && (
        <dl className="mt-3 space-y-2 text-xs" data-testid="agent-access-issued">
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">Server URL</dt>
            <dd className="font-mono break-all" data-testid="agent-access-url">{issued.url}</dd>
          </div>
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">
              Bearer token for “{issued.label}” (shown once, valid until {when(issued.expires_at)} unless revoked)
            </dt>
            <dd className="mt-1 flex items-start gap-2">
              <code className="max-h-20 min-w-0 flex-1 overflow-y-auto rounded bg-zinc-100 p-2 font-mono break-all select-all dark:bg-zinc-800" data-testid="agent-access-token">
                {issued.token}
              </code>
              <Button size="sm" variant="ghost" onClick={copy} aria-label={copied ? "Copied the token" : "Copy the token"}>
                {copied ? <Check className="size-4" aria-hidden /> : <Copy className="size-4" aria-hidden />}
              </Button>
            </dd>
          </div>
        </dl>
      )}

      <div className="mt-4">
        <div className="flex items-center justify-between gap-2">
          <h4 id={listTitleId} ref={listTitle} tabIndex={-1} className="text-xs font-semibold tracking-wide text-zinc-500 uppercase outline-none dark:text-zinc-400">
            Your agent tokens
          </h4>
          {active.length > 0 && (
            <Button size="sm" variant="ghost" data-testid="agent-tokens-revoke-all" onClick={() => setConfirmAll(true)}>
              Revoke all
            </Button>
          )}
        </div>
        <p role="status" className="text-xs text-zinc-600 dark:text-zinc-300" data-testid="agent-tokens-notice">
          {notice}
        </p>
        {actionError && (
          <p role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
            {actionError}
          </p>
        )}
        <div className="mt-2">
          {listState === "error" ? (
            <p className="text-xs text-red-600 dark:text-red-400">
              Could not load your agent tokens.{" "}
              <button type="button" className="underline" onClick={() => void load()}>
                Try again
              </button>
            </p>
          ) : !tokens.length ? (
            <p className="text-xs text-zinc-500 dark:text-zinc-400">{listState === "loading" ? "Loading…" : "No tokens yet."}</p>
          ) : (
            <ul className="space-y-2" aria-labelledby={listTitleId}>
              {tokens.map((t) => (
                <li
                  key={t.id}
                  data-testid="agent-token"
                  data-token-id={t.id}
                  data-state={t.revoked_at ? "revoked" : "active"}
                  className={cn(
                    "flex items-start gap-2 rounded-lg border p-2 text-xs",
                    t.revoked_at ? "border-dashed border-zinc-200 text-zinc-500 dark:border-zinc-800 dark:text-zinc-400" : "border-zinc-200 dark:border-zinc-800",
                  )}
                >
                  <div className="min-w-0 flex-1">
                    <p className="font-medium break-words" data-testid="agent-token-label">
                      {t.label}
                    </p>
                    <p className="text-zinc-500 dark:text-zinc-400">
                      Created {when(t.created_at)} · Last used {t.last_used_at ? when(t.last_used_at) : "never"}
                    </p>
                    <p data-testid="agent-token-state" className={t.revoked_at ? "font-medium" : "text-zinc-500 dark:text-zinc-400"}>
                      {t.revoked_at ? `Revoked ${when(t.revoked_at)}` : `Expires ${when(t.expires_at)}`}
                    </p>
                  </div>
                  {!t.revoked_at && (
                    <Button
                      size="sm"
                      aria-label={`Revoke the token “${t.label}”`}
                      data-testid="agent-token-revoke"
                      loading={revoking === t.id}
                      onClick={() => void revoke(t)}
                    >
                      Revoke
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>

      <Dialog
        open={confirmAll}
        onClose={() => setConfirmAll(false)}
        role="alertdialog"
        title="Revoke all agent tokens?"
        description={`${active.length === 1 ? "The agent using your token loses" : `Every agent using one of your ${active.length} tokens loses`} access to your tasks at once. You can create new tokens afterwards.`}
      >
        <div className="flex justify-end gap-2 px-5 pt-4 pb-5">
          <Button variant="ghost" onClick={() => setConfirmAll(false)}>
            Cancel
          </Button>
          <Button variant="danger" data-testid="agent-tokens-revoke-all-confirm" onClick={revokeAll} loading={allBusy}>
            Revoke all
          </Button>
        </div>
      </Dialog>
    </section>
  );
}
