"use client";
import { useCallback, useEffect, useId, useState } from "react";
import { CalendarDays, Copy, RefreshCw } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError } from "@/lib/api";
import { feedUrlFor, webcalUrl, type FeedKind } from "@/lib/calendar-feed";
import { relativeTime } from "@/lib/datetime";
import type { CalendarFeed } from "@/lib/types";
import { Dialog } from "../dialog";
import { Button } from "../ui";

const KINDS: { kind: FeedKind; label: string; hint: string }[] = [
  { kind: "events", label: "Calendar events", hint: "Google Calendar, Outlook, Apple Calendar" },
  { kind: "todos", label: "To-dos", hint: "Thunderbird, Apple Reminders, DAVx⁵" },
];

/**
 * Settings → Calendar feed: a secret iCalendar URL of the user's tasks that calendar apps
 * subscribe to. Off until turned on; the URL can be replaced (every copy of the old one stops
 * working) or turned off.
 */
export function CalendarFeedSettings() {
  // undefined: loading; null: off.
  const [feed, setFeed] = useState<CalendarFeed | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<"on" | "rotate" | "off" | null>(null);
  const [confirm, setConfirm] = useState<"rotate" | "off" | null>(null);
  const [kind, setKind] = useState<FeedKind>("events");
  const urlId = useId();
  const kindName = useId();

  const load = useCallback(async () => {
    try {
      setFeed((await api.calendarFeed()).feed);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : "Could not load the calendar feed");
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const turnOn = async (which: "on" | "rotate") => {
    setBusy(which);
    try {
      setFeed((await api.rotateCalendarFeed()).feed);
      setConfirm(null);
      toast.success(which === "on" ? "Calendar feed is on" : "New feed URL", {
        description: which === "on" ? "Copy the URL into your calendar app." : "The old URL no longer works.",
      });
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not turn the feed on");
    } finally {
      setBusy(null);
    }
  };

  const turnOff = async () => {
    setBusy("off");
    try {
      await api.turnOffCalendarFeed();
      setFeed(null);
      setConfirm(null);
      toast.success("Calendar feed is off", { description: "Its URL no longer works." });
    } catch (e) {
      toast.error(e instanceof ApiError ? e.message : "Could not turn the feed off");
    } finally {
      setBusy(null);
    }
  };

  const url = feed ? feedUrlFor(feed.url, kind) : "";
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      toast.success("Feed URL copied");
    } catch {
      toast.error("Could not copy: select the URL and copy it yourself");
    }
  };

  return (
    <section aria-labelledby="calendar-feed-heading" className="rounded-xl border border-zinc-200 bg-white p-5 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="flex items-start gap-3">
        <CalendarDays className="mt-0.5 size-5 text-brand-600 dark:text-brand-400" aria-hidden />
        <div className="min-w-0 flex-1">
          <h2 id="calendar-feed-heading" className="text-base font-semibold">
            Calendar feed
          </h2>
          <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">
            Subscribe to your tasks from a calendar app: open tasks with a due time appear at that time, repeating
            tasks repeat, reminders come as alerts. Anyone with the URL can read your tasks, so keep it private.
          </p>
        </div>
      </div>
      {error && (
        <div role="alert" className="mt-4 text-sm text-red-600 dark:text-red-400">
          {error}{" "}
          <Button size="sm" variant="ghost" onClick={() => void load()}>
            Try again
          </Button>
        </div>
      )}
      {!error && feed === undefined && <div className="mt-4 h-10 animate-pulse rounded-lg bg-zinc-200/60 dark:bg-zinc-800/60" aria-busy />}
      {!error && feed === null && (
        <div className="mt-4">
          <Button variant="primary" onClick={() => void turnOn("on")} loading={busy === "on"}>
            Turn on calendar feed
          </Button>
        </div>
      )}
      {!error && feed && (
        <div className="mt-4 space-y-4">
          <fieldset>
            <legend className="text-sm font-medium">Show tasks as</legend>
            <div className="mt-1.5 flex flex-wrap gap-4">
              {KINDS.map((k) => (
                <label key={k.kind} className="flex items-start gap-2 text-sm">
                  <input
                    type="radio"
                    name={kindName}
                    value={k.kind}
                    checked={kind === k.kind}
                    onChange={() => setKind(k.kind)}
                    className="mt-1"
                  />
                  <span>
                    {k.label}
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">{k.hint}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <div>
            <label htmlFor={urlId} className="text-sm font-medium">
              Feed URL
            </label>
            <div className="mt-1.5 flex gap-2">
              <input
                id={urlId}
                readOnly
                value={url}
                onFocus={(e) => e.currentTarget.select()}
                className="h-9 min-w-0 flex-1 rounded-lg border border-zinc-200 bg-zinc-50 px-3 font-mono text-xs dark:border-zinc-800 dark:bg-zinc-950"
                data-testid="calendar-feed-url"
              />
              <Button onClick={() => void copy()}>
                <Copy className="size-4" aria-hidden /> Copy
              </Button>
            </div>
            <p className="mt-1.5 text-xs text-zinc-500 dark:text-zinc-400">
              In your calendar app choose “Subscribe to calendar” or “From URL” and paste it, or{" "}
              <a className="underline" href={webcalUrl(url)}>
                open it with your calendar app
              </a>
              . Calendar apps refresh it every 15 minutes or more.{" "}
              <span data-testid="calendar-feed-used">
                {feed.last_used_at ? `Last fetched ${relativeTime(feed.last_used_at)}.` : "Not fetched yet."}
              </span>
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            <Button onClick={() => setConfirm("rotate")} disabled={busy !== null}>
              <RefreshCw className="size-4" aria-hidden /> New secret URL
            </Button>
            <Button variant="ghost" onClick={() => setConfirm("off")} disabled={busy !== null}>
              Turn off
            </Button>
          </div>
        </div>
      )}
      <Dialog
        open={confirm !== null}
        onClose={() => setConfirm(null)}
        role="alertdialog"
        title={confirm === "off" ? "Turn the calendar feed off?" : "Make a new feed URL?"}
        description={
          confirm === "off"
            ? "The URL stops working: calendar apps subscribed to it no longer see your tasks."
            : "The current URL stops working. Subscribe your calendar apps to the new one."
        }
      >
        <div className="flex justify-end gap-2 px-5 pt-4 pb-5">
          <Button variant="ghost" onClick={() => setConfirm(null)}>
            Cancel
          </Button>
          {confirm === "off" ? (
            <Button variant="danger" onClick={() => void turnOff()} loading={busy === "off"}>
              Turn off
            </Button>
          ) : (
            <Button variant="danger" onClick={() => void turnOn("rotate")} loading={busy === "rotate"}>
              Make a new URL
            </Button>
          )}
        </div>
      </Dialog>
    </section>
  );
}
