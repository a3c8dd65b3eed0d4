import type { Metadata } from "next";
import { CalendarFeedSettings } from "@/components/settings/calendar-feed";
import { DeleteAccountSettings } from "@/components/settings/delete-account";
import { PushReminderSettings } from "@/components/settings/push-reminders";
import { YourDataSettings } from "@/components/settings/your-data";

export const metadata: Metadata = { title: "Settings" };

export default function SettingsPage() {
  return (
    <div className="space-y-5">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
        <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">Reminders, your tasks in other apps, your data, and your account.</p>
      </div>
      <PushReminderSettings />
      <CalendarFeedSettings />
      <YourDataSettings />
      <DeleteAccountSettings />
    </div>
  );
}
