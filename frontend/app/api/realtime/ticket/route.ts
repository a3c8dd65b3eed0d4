import { forward } from "@/lib/server/forward";

export const dynamic = "force-dynamic";
/** A single-use, 60-second ticket for the browser's WebSocket/SSE connection (`forward` refuses
 * cross-site POSTs: lib/server/origin.ts). */
export const POST = (req: Request) => forward(req, "websocket", "/api/realtime/ticket");
