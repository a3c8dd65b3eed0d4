"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useCallback, useId, useRef, useState } from "react";
import { AnimatePresence, motion } from "framer-motion";
import { Activity, CheckSquare, Loader2, LogOut, MonitorX, Radio, Settings, Trash2 } from "lucide-react";
import { toast } from "sonner";
import { ApiError } from "@/lib/api";
import { assistantApi } from "@/lib/assistant/api";
import { authClient } from "@/lib/auth-client";
import { cn } from "@/lib/cn";
import { useDismiss } from "@/hooks/use-dismiss";
import { AssistantPanel, AssistantToggle } from "./assistant/assistant-panel";
import { RealtimeProvider, useRealtimeStatus } from "./realtime-provider";
import { NotificationBell } from "./notification-bell";
import { ThemeToggle } from "./theme";

export interface ShellUser {
  id: string;
  name: string;
  email: string;
}

const NAV = [
  { href: "/tasks", label: "Tasks", icon: CheckSquare },
  { href: "/activity", label: "Activity", icon: Activity },
  { href: "/trash", label: "Trash", icon: Trash2 },
  { href: "/settings", label: "Settings", icon: Settings },
];

function ConnectionBadge() {
  const { status, transport } = useRealtimeStatus();
  const live = status === "open";
  const label = live
    ? `Live${transport === "sse" ? " (SSE)" : ""}`
    : status === "offline"
      ? "Offline"
      : status === "connecting"
        ? "Connecting…"
        : "Reconnecting…";
  return (
    <span
      role="status"
      aria-live="polite"
      data-testid="connection-status"
      data-status={status}
      data-transport={transport}
      title={live ? "Changes from your other devices appear instantly" : "Trying to reconnect; your list will re-sync"}
      className={cn(
        "hidden items-center gap-1.5 rounded-full px-2 py-1 text-xs font-medium sm:inline-flex",
        live
          ? "text-emerald-700 dark:text-emerald-400"
          : "bg-amber-50 text-amber-700 dark:bg-amber-500/10 dark:text-amber-400",
      )}
    >
      <span className={cn("size-1.5 rounded-full", live ? "bg-emerald-500" : "animate-pulse-dot bg-amber-500")} />
      {label}
    </span>
  );
}

export function UserMenu({ user }: { user: ShellUser }) {
  const [open, setOpen] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const everywhereHint = useId();
  const router = useRouter();
  const ref = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, ref, close);

  /** Revokes the user's MCP agent tokens, then every session (all devices), then goes to the
   * sign-in page. Stops, saying so, at the first step that fails: the user stays signed in
   * rather than believing their agents were cut off when they were not. */
  const signOutEverywhere = async () => {
    setLeaving(true);
    try {
      await assistantApi.revokeAllAgentTokens();
    } catch (e) {
      setLeaving(false);
      const why = e instanceof ApiError && e.status === 429 ? "too many requests right now" : e instanceof Error ? e.message : "unknown error";
      toast.error(`Could not revoke your agent tokens (${why}), so you are still signed in. Try again.`);
      return;
    }
    const { error } = await authClient.revokeSessions().catch((e: unknown) => ({ error: e ?? new Error("revokeSessions failed") }));
    if (error) {
      setLeaving(false);
      toast.error("Your agent tokens are revoked, but your other devices could not be signed out. Try again.");
      return;
    }
    // The session is gone already; this clears what is left of it in this browser.
    await authClient.signOut().catch(() => undefined);
    router.replace("/sign-in");
    router.refresh();
  };
  const initials = (user.name || user.email).trim().slice(0, 1).toUpperCase();
  return (
    <div className="relative" ref={ref}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Account: ${user.name || user.email}`}
        onClick={() => setOpen((o) => !o)}
        className="inline-flex size-8 items-center justify-center rounded-full bg-gradient-to-br from-brand-400 to-brand-600 text-sm font-semibold text-white ring-2 ring-white transition hover:brightness-110 dark:ring-zinc-900"
      >
        {initials}
      </button>
      <AnimatePresence>
        {open && (
          <motion.div
            role="menu"
            initial={{ opacity: 0, y: -4, scale: 0.98 }}
            animate={{ opacity: 1, y: 0, scale: 1 }}
            exit={{ opacity: 0, y: -4, scale: 0.98 }}
            transition={{ duration: 0.12 }}
            className="absolute right-0 z-40 mt-2 w-60 origin-top-right overflow-hidden rounded-xl border border-zinc-200 bg-white p-1 shadow-xl dark:border-zinc-800 dark:bg-zinc-900"
          >
            <div className="px-3 py-2">
              <p className="truncate text-sm font-medium">{user.name}</p>
              <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">{user.email}</p>
            </div>
            <div className="my-1 h-px bg-zinc-100 dark:bg-zinc-800" />
            <button
              type="button"
              role="menuitem"
              onClick={async () => {
                await authClient.signOut();
                router.replace("/sign-in");
                router.refresh();
              }}
              className="flex w-full items-center gap-2 rounded-lg px-3 py-2 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
            >
              <LogOut className="size-4" /> Sign out
            </button>
            <button
              type="button"
              role="menuitem"
              data-testid="sign-out-everywhere"
              disabled={leaving}
              aria-busy={leaving || undefined}
              aria-describedby={everywhereHint}
              onClick={() => void signOutEverywhere()}
              className="flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left text-sm text-zinc-700 hover:bg-zinc-100 disabled:opacity-60 dark:text-zinc-300 dark:hover:bg-zinc-800"
            >
              {leaving ? <Loader2 className="size-4 animate-spin" aria-hidden /> : <MonitorX className="size-4" aria-hidden />} Sign out of every device
            </button>
            <p id={everywhereHint} className="px-3 pb-2 text-xs text-zinc-500 dark:text-zinc-400">Also revokes the access tokens of your connected agents.</p>
          </motion.div>
        )}
      </AnimatePresence>
    </div>
  );
}

export function AppShell({
  user,
  realtimeUrl,
  children,
}: {
  user: ShellUser;
  /** The server's REALTIME_URL. */
  realtimeUrl: string;
  children: React.ReactNode;
}) {
  const pathname = usePathname();
  const [assistantOpen, setAssistantOpen] = useState(false);
  const assistantToggle = useRef<HTMLButtonElement>(null);
  return (
    <RealtimeProvider url={realtimeUrl}>
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-lg focus:bg-white focus:px-3 focus:py-2 focus:shadow dark:focus:bg-zinc-900"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-zinc-200/80 bg-zinc-50/85 backdrop-blur-md dark:border-zinc-800/80 dark:bg-zinc-950/80">
        <div className="mx-auto flex h-14 max-w-5xl items-center gap-2 px-4 sm:gap-4 sm:px-6">
          <Link href="/tasks" className="flex items-center gap-2 font-semibold tracking-tight" aria-label="taskfleet home">
            <span className="inline-flex size-7 items-center justify-center rounded-lg bg-brand-600 text-white shadow-sm shadow-brand-600/30">
              <Radio className="size-4" aria-hidden />
            </span>
            <span className="hidden sm:inline">taskfleet</span>
          </Link>
          <nav aria-label="Main" className="ml-1 flex items-center gap-0.5 sm:ml-3">
            {NAV.map(({ href, label, icon: Icon }) => {
              const active = pathname.startsWith(href);
              return (
                <Link
                  key={href}
                  href={href}
                  aria-current={active ? "page" : undefined}
                  className={cn(
                    "inline-flex items-center gap-1.5 rounded-lg px-2.5 py-1.5 text-sm font-medium transition",
                    active
                      ? "bg-white text-zinc-900 shadow-xs ring-1 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-100 dark:ring-zinc-800"
                      : "text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100",
                  )}
                >
                  <Icon className="size-4" aria-hidden />
                  {label}
                </Link>
              );
            })}
          </nav>
          <div className="ml-auto flex items-center gap-1 sm:gap-2">
            <ConnectionBadge />
            <AssistantToggle ref={assistantToggle} open={assistantOpen} onToggle={() => setAssistantOpen((o) => !o)} />
            <NotificationBell />
            <ThemeToggle />
            <UserMenu user={user} />
          </div>
        </div>
      </header>
      {/* Wide screens keep the list beside the open assistant rather than under it. */}
      <div className={cn("transition-[margin] duration-200", assistantOpen && "lg:mr-[26rem]")}>
        <main id="main" className="mx-auto max-w-5xl px-4 pt-6 pb-24 sm:px-6 sm:pt-8">
          {children}
        </main>
      </div>
      <AssistantPanel open={assistantOpen} onClose={() => setAssistantOpen(false)} returnFocusTo={assistantToggle} />
    </RealtimeProvider>
  );
}
