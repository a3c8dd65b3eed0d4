import { forwardingRoutes } from "@/lib/server/forward";

export const dynamic = "force-dynamic";
export const { GET, POST, PATCH, PUT, DELETE } = forwardingRoutes("notification", "push");
