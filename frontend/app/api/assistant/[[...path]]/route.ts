import { forwardingRoutes } from "@/lib/server/forward";

export const dynamic = "force-dynamic";
/** The assistant: status, threads, items, confirmations, and the message route's event stream
 * (passed through unbuffered by `forward`). */
export const { GET, POST, PATCH, PUT, DELETE } = forwardingRoutes("backend-api", "assistant");
