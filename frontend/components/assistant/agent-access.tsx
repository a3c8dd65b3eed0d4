"use client";
// "Use your tasks from another agent": backend-api's /mcp speaks the Model Context Protocol, so
// an external agent (a desktop assistant, an IDE, a script) can use the same tools as this
// panel. This mints a token bound to that endpoint (audience = the MCP URL) for the signed-in
// user and shows it once. Deleting and bulk changes asked for by such an agent wait as
// confirmation cards in this panel.
import { useState } from "react";
import { Check, Copy, PlugZap } from "lucide-react";
import { assistantApi } from "@/lib/assistant/api";
import { Button } from "../ui";

type Issued = { token: string; url: string; expires_at: string };

export function AgentAccess() {
  const [issued, setIssued] = useState<Issued | null>(null);
  const [state, setState] = useState<"idle" | "loading" | "error">("idle");
  const [copied, setCopied] = useState(false);

  const issue = async () => {
    setState("loading");
    try {
      setIssued(await assistantApi.mcpToken());
      setState("idle");
    } catch {
      setState("error");
    }
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

  return (
    <section data-testid="agent-access" aria-labelledby="agent-access-title" className="mt-6 rounded-xl border border-zinc-200 p-3 text-sm dark:border-zinc-800">
      <h3 id="agent-access-title" className="flex items-center gap-2 font-medium">
        <PlugZap className="size-4 text-zinc-500" aria-hidden /> Use your tasks from another agent
      </h3>
      <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
        Agents that speak MCP (streamable HTTP) get the same tools as this assistant, acting as you. Deleting and bulk
        changes still wait for your confirmation here.
      </p>
      {!issued ? (
        <div className="mt-3">
          <Button size="sm" loading={state === "loading"} onClick={issue} data-testid="agent-access-create">
            Create an access token
          </Button>
          {state === "error" && <p className="mt-2 text-xs text-red-600 dark:text-red-400">Could not create a token. Try again.</p>}
        </div>
      ) : (
        <dl className="mt-3 space-y-2 text-xs">
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">Server URL</dt>
            <dd className="font-mono break-all" data-testid="agent-access-url">{issued.url}</dd>
          </div>
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">Bearer token (shown once, valid until {new Date(issued.expires_at).toLocaleString()})</dt>
            <dd className="mt-1 flex items-start gap-2">
              <code className="max-h-20 min-w-0 flex-1 overflow-y-auto rounded bg-zinc-100 p-2 font-mono break-all select-all dark:bg-zinc-800" data-testid="agent-access-token">
                {issued.token}
              </code>
              <Button size="sm" variant="ghost" onClick={copy} aria-label="Copy the token">
                {copied ? <Check className="size-4" aria-hidden /> : <Copy className="size-4" aria-hidden />}
              </Button>
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}
