"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { AnimatePresence, motion } from "framer-motion";
import { Bell, BellRing, Check, CheckCheck, Trash2 } from "lucide-react";
import { useRouter } from "next/navigation";
import { toast } from "sonner";
import { api } from "@/lib/api";
import { cn } from "@/lib/cn";
import { useDismiss } from "@/hooks/use-dismiss";
import { relativeTime } from "@/lib/datetime";
import { taskHref } from "@/lib/reminders";
import type { Notification, ReminderPush } from "@/lib/types";
import { useRealtimeEvents } from "./realtime-provider";
import { ReminderToast, SnoozeButtons } from "./reminder-actions";

function desktopNotify(title: string, body: string, onClick: () => void) {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return; // the toast is enough
  try {
    const alert = new Notification(title, { body, tag: `taskfleet-${title}` });
    alert.onclick = () => {
      window.focus();
      onClick();
      alert.close();
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}

export function NotificationBell() {
  const [count, setCount] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [permission, setPermission] = useState<NotificationPermission | "unsupported">("default");
  const ref = useRef<HTMLDivElement>(null);
  const seen = useRef(new Set<string>());
  const router = useRouter();

  const refreshCount = useCallback(async () => {
    try {
      setCount((await api.unreadCount()).count);
    } catch {
      /* the bell keeps its last count */
    }
  }, []);

  const loadList = useCallback(async () => {
    try {
      setError(null);
      setItems((await api.notifications()).items);
    } catch (e) {
      setError(e instanceof Error ? e.message : "Could not load notifications");
    }
  }, []);

  useEffect(() => {
    void refreshCount();
    setPermission(typeof Notification === "undefined" ? "unsupported" : Notification.permission);
  }, [refreshCount]);

  useEffect(() => {
    if (open) void loadList();
  }, [open, loadList]);

  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, ref, close);

  useRealtimeEvents(
    (msg) => {
      if (msg.type !== "reminder.due") return;
      const push = msg as ReminderPush;
      if (seen.current.has(push.event_id)) return;
      seen.current.add(push.event_id);
      const title = push.task?.title ?? "A task";
      const description = push.task?.due_date ? `Due ${relativeTime(String(push.task.due_date))}` : "It's time.";
      const showTask = () => router.push(taskHref(push.task_id));
      setCount((c) => c + 1);
      toast.custom(
        (id) => <ReminderToast toastId={id} taskId={push.task_id} title={title} description={description} onOpen={showTask} />,
        { duration: 15_000 },
      );
      desktopNotify("taskfleet reminder", title, showTask);
      // The notification row is written by the notification service; reconcile the count with it.
      window.setTimeout(() => void refreshCount(), 1500);
      if (open) window.setTimeout(() => void loadList(), 1500);
    },
    () => void refreshCount(),
  );

  const markRead = async (n: Notification) => {
    if (n.read) return;
    setItems((xs) => xs?.map((x) => (x.id === n.id ? { ...x, read: true } : x)) ?? null);
    setCount((c) => Math.max(0, c - 1));
    try {
      await api.markRead(n.id);
    } catch {
      void refreshCount();
    }
  };

  const openTask = (n: Notification) => {
    if (!n.task_id) return;
    void markRead(n);
    setOpen(false);
    router.push(taskHref(n.task_id));
  };

  const markAll = async () => {
    setItems((xs) => xs?.map((x) => ({ ...x, read: true })) ?? null);
    setCount(0);
    try {
      await api.markAllRead();
    } catch (e) {
      toast.error(e instanceof Error ? e.message : "Could not mark all as read");
      void refreshCount();
    }
  };

  const remove = async (n: Notification) => {
    setItems((xs) => xs?.filter((x) => x.id !== n.id) ?? null);
    if (!n.read) setCount((c) => Math.max(0, c - 1));
    try {
      await api.deleteNotification(n.id);
    } catch {
      void loadList();
      void refreshCount();
    }
  };

  const askPermission = async () => {
    if (typeof Notification === "undefined") return;
    setPermission(await Notification.requestPermission());
  };

  const label = count ? `Notifications, ${count} unread` : "Notifications";
  return (
    <div className="relative" ref={ref}>
      <button
        type="button"
        aria-label={label}
        title={label}
        aria-haspopup="dialog"
        aria-expanded={open}
        data-testid="notification-bell"
        onClick={() => setOpen((o) => !o)}
        className="relative inline-flex size-9 items-center justify-center rounded-lg text-zinc-500 transition hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
      >
        <Bell className="size-[18px]" />
        <AnimatePresence>
          {count > 0 && (
            <motion.span
              key={count}
              data-testid="unread-count"
              initial={{ scale: 0.4, opacity: 0 }}
              animate={{ scale: 1, opacity: 1 }}
              exit={{ scale: 0.4, opacity: 0 }}
              className="absolute -top-0.5 -right-0.5 inline-flex h-[18px] min-w-[18px] items-center justify-center rounded-full bg-red-500 px-1 text-[10px] font-semibold text-white ring-2 ring-zinc-50 dark:ring-zinc-950"
            >
              {count > 99 ? "99+" : count}
            </motion.span>
          )}
        </AnimatePresence>
      </button>
      <AnimatePresence>
        {open && (
          <motion.div
            role="dialog"
            aria-label="Notifications"
            initial={{ opacity: 0, y: -6, scale: 0.98 }}
            animate={{ opacity: 1, y: 0, scale: 1 }}
            exit={{ opacity: 0, y: -6, scale: 0.98 }}
            transition={{ duration: 0.14 }}
            className="fixed inset-x-3 top-16 z-40 overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl sm:absolute sm:inset-x-auto sm:top-auto sm:right-0 sm:mt-2 sm:w-96 dark:border-zinc-800 dark:bg-zinc-900"
          >
            <div className="flex items-center justify-between border-b border-zinc-100 px-4 py-3 dark:border-zinc-800">
              <h2 className="text-sm font-semibold">Notifications</h2>
              <button
                type="button"
                onClick={markAll}
                disabled={!count}
                className="inline-flex items-center gap-1 text-xs font-medium text-brand-600 hover:text-brand-500 disabled:text-zinc-400 dark:text-brand-400"
              >
                <CheckCheck className="size-3.5" /> Mark all read
              </button>
            </div>
            {permission === "default" && (
              <button
                type="button"
                onClick={askPermission}
                className="flex w-full items-center gap-2 border-b border-zinc-100 bg-brand-50/60 px-4 py-2.5 text-left text-xs text-brand-700 hover:bg-brand-50 dark:border-zinc-800 dark:bg-brand-500/10 dark:text-brand-300"
              >
                <BellRing className="size-3.5 shrink-0" /> Get desktop alerts for reminders when this tab is in the background
              </button>
            )}
            <ul className="max-h-[60vh] overflow-y-auto" aria-busy={items === null && !error}>
              {error && <li className="px-4 py-6 text-center text-sm text-red-600 dark:text-red-400">{error}</li>}
              {!error && items === null && (
                <li className="space-y-2 p-4">
                  {[0, 1, 2].map((i) => (
                    <div key={i} className="h-10 animate-pulse rounded-lg bg-zinc-100 dark:bg-zinc-800" />
                  ))}
                </li>
              )}
              {items?.length === 0 && (
                <li className="px-4 py-10 text-center">
                  <Bell className="mx-auto size-6 text-zinc-300 dark:text-zinc-600" aria-hidden />
                  <p className="mt-2 text-sm text-zinc-500 dark:text-zinc-400">No notifications yet</p>
                  <p className="text-xs text-zinc-400 dark:text-zinc-500">Reminders you set on tasks show up here.</p>
                </li>
              )}
              {items?.map((n) => (
                <li
                  key={n.id}
                  className={cn(
                    "group flex gap-3 border-b border-zinc-100 px-4 py-3 last:border-0 dark:border-zinc-800",
                    !n.read && "bg-brand-50/40 dark:bg-brand-500/5",
                  )}
                >
                  <span
                    className={cn("mt-1.5 size-2 shrink-0 rounded-full", n.read ? "bg-transparent" : "bg-brand-500")}
                    aria-hidden
                  />
                  <div className="min-w-0 flex-1">
                    {n.task_id ? (
                      <button
                        type="button"
                        data-testid="notification-open"
                        onClick={() => openTask(n)}
                        className="block max-w-full truncate text-left text-sm font-medium hover:text-brand-600 hover:underline dark:hover:text-brand-400"
                      >
                        <span className="sr-only">Open task: </span>
                        {n.title}
                      </button>
                    ) : (
                      <p className="truncate text-sm font-medium">{n.title}</p>
                    )}
                    {(n.body || n.message) && (
                      <p className="line-clamp-2 text-xs text-zinc-500 dark:text-zinc-400">{String(n.body || n.message)}</p>
                    )}
                    <p className="mt-0.5 text-[11px] text-zinc-400">{relativeTime(n.created_at)}</p>
                    {n.task_id && n.kind === "reminder" && !n.read && (
                      <SnoozeButtons
                        taskId={n.task_id}
                        title={n.title}
                        className="mt-1.5"
                        onDone={() => {
                          void loadList();
                          void refreshCount();
                        }}
                      />
                    )}
                  </div>
                  <div className="flex shrink-0 items-start gap-0.5 opacity-100 sm:opacity-0 sm:group-focus-within:opacity-100 sm:group-hover:opacity-100">
                    {!n.read && (
                      <button
                        type="button"
                        aria-label={`Mark "${n.title}" as read`}
                        onClick={() => markRead(n)}
                        className="rounded-md p-1 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
                      >
                        <Check className="size-3.5" />
                      </button>
                    )}
                    <button
                      type="button"
                      aria-label={`Delete notification "${n.title}"`}
                      onClick={() => remove(n)}
                      className="rounded-md p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800"
                    >
                      <Trash2 className="size-3.5" />
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          </motion.div>
        )}
      </AnimatePresence>
    </div>
  );
}
