import { auth } from "@/lib/server/auth";

export const dynamic = "force-dynamic";

/**
 * Liveness/readiness probe: the server is up and Better Auth's database answers. The probe is
 * public, so the reason for a failure (a driver message may name hosts, users, databases) goes to
 * the server's log only.
 */
export async function GET() {
  try {
    const ctx = await auth.$context;
    await ctx.adapter.count({ model: "user" });
    return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
  } catch (e) {
    console.error("health: the database does not answer:", e instanceof Error ? e.message : e);
    return Response.json({ status: "unavailable" }, { status: 503, headers: { "Cache-Control": "no-store" } });
  }
}
