// The JSON error shape every route handler of the app answers with (the services' shape too).

export function errorResponse(status: number, code: string, message: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Cache-Control", "no-store");
  return Response.json({ error: { code, message } }, { status, headers: h });
}

export const notFound = () => errorResponse(404, "not_found", "No such route.");
