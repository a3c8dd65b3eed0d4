import type { Metadata } from "next";
import { ActivityView } from "@/components/activity/activity-view";

export const metadata: Metadata = { title: "Activity" };

export default async function ActivityPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const taskId = typeof sp.task_id === "string" && /^[0-9a-f-]{36}$/i.test(sp.task_id) ? sp.task_id : undefined;
  return <ActivityView key={taskId ?? "all"} taskId={taskId} />;
}
