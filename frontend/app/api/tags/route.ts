import { forward } from "@/lib/server/forward";

export const dynamic = "force-dynamic";
export const GET = (req: Request) => forward(req, "backend-api", "/api/tags");
