import { auth } from "@/lib/server/auth";

export const dynamic = "force-dynamic";

/** Liveness/readiness probe: the server is up and Better Auth's database answers. */
export async function GET() {
  try {
    const ctx = await auth.$context;
    await ctx.adapter.count({ model: "user" });
    return Response.json({ status: "ok" });
  } catch (e) {
    return Response.json({ status: "unavailable", error: e instanceof Error ? e.message : String(e) }, { status: 503 });
  }
}
