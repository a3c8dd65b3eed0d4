// A scripted, stateless stand-in for an OpenAI-compatible model provider, for the assistant's
// end-to-end scenario. It speaks Chat Completions (`POST /v1/chat/completions`, streamed as
// `data:` chunks ending in `data: [DONE]` when `stream` is true) and decides what to answer from
// the request's messages alone:
//
//   last message                                    answer
//   user, mentions "buy milk"                       add_task {"title":"Buy milk","when":"tomorrow 5pm","tags":["home"],"priority":"high"}
//   user, starts with "delete"                      find_tasks {"q":"<the rest>"}
//   tool result of find_tasks                       delete_task {"id":<first task's id>} (or text when none matched)
//   any other tool result                           streamed text ("Added “Buy milk” for tomorrow 17:00.", …)
//   anything else                                   a short streamed text
//
// Text is split over several chunks with small delays so streaming is visible in the UI.
// No dependencies. PORT (default 3599); CHUNK_DELAY_MS (default 150). Logs one line per request.
import http from "node:http";
import { randomUUID } from "node:crypto";

const PORT = Number(process.env.PORT ?? 3599);
const CHUNK_DELAY_MS = Number(process.env.CHUNK_DELAY_MS ?? 150);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(...parts) {
  console.log(new Date().toISOString(), ...parts);
}

/** The name of the tool a `tool` message answers, from the assistant turn that called it. */
function toolNameOf(messages, toolCallId) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const call = messages[i].tool_calls?.find((c) => c.id === toolCallId);
    if (call) return call.function?.name ?? "";
  }
  return "";
}

function parseJson(text) {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return null;
  }
}

/** What to answer: `{ text }` or `{ tool, args }`. */
function decide(messages) {
  const last = messages[messages.length - 1] ?? {};
  const content = typeof last.content === "string" ? last.content : "";
  if (last.role === "user") {
    if (/buy milk/i.test(content) && !/^\s*delete\b/i.test(content)) {
      return { tool: "add_task", args: { title: "Buy milk", when: "tomorrow 5pm", tags: ["home"], priority: "high" } };
    }
    const del = /^\s*delete\b\s*(.*)$/is.exec(content);
    if (del) return { tool: "find_tasks", args: { q: del[1].trim() } };
    return { text: "Hello! I can add, find, change and complete your tasks. What should I do?" };
  }
  if (last.role === "tool") {
    const name = toolNameOf(messages, last.tool_call_id);
    const result = parseJson(content) ?? {};
    if (name === "find_tasks") {
      const first = result.tasks?.[0];
      if (first?.id) return { tool: "delete_task", args: { id: first.id } };
      return { text: "I could not find a task like that." };
    }
    if (result.error) return { text: `That did not work: ${result.error.message ?? "the tool failed"}.` };
    if (name === "add_task" && result.created) {
      const time = /(\d{2}:\d{2})$/.exec(result.created.due_local ?? "")?.[1];
      return { text: `Added “${result.created.title}”${time ? ` for tomorrow ${time}` : ""}.` };
    }
    if (result.status === "confirmation_required") return { text: "Please confirm the deletion in the card." };
    return { text: "Done." };
  }
  return { text: "OK." };
}

/** "Added “Buy milk” for tomorrow 17:00." → a few chunks, split on word boundaries. */
function split(text, parts = 6) {
  const words = text.split(/(?<= )/);
  const size = Math.max(1, Math.ceil(words.length / parts));
  const chunks = [];
  for (let i = 0; i < words.length; i += size) chunks.push(words.slice(i, i + size).join(""));
  return chunks;
}

function chunk(id, model, delta, finish = null) {
  return { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta, finish_reason: finish }] };
}

async function stream(res, model, answer) {
  const id = `chatcmpl-${randomUUID()}`;
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
  const send = (data) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  send(chunk(id, model, { role: "assistant", content: "" }));
  if (answer.text) {
    for (const piece of split(answer.text)) {
      await sleep(CHUNK_DELAY_MS);
      send(chunk(id, model, { content: piece }));
    }
    send(chunk(id, model, {}, "stop"));
  } else {
    const callId = `call_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const args = JSON.stringify(answer.args);
    const cut = Math.ceil(args.length / 2);
    await sleep(CHUNK_DELAY_MS);
    send(chunk(id, model, { tool_calls: [{ index: 0, id: callId, type: "function", function: { name: answer.tool, arguments: args.slice(0, cut) } }] }));
    await sleep(CHUNK_DELAY_MS);
    send(chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }));
    send(chunk(id, model, {}, "tool_calls"));
  }
  res.write("data: [DONE]\n\n");
  res.end();
}

function whole(res, model, answer) {
  const message = answer.text
    ? { role: "assistant", content: answer.text }
    : {
        role: "assistant",
        content: null,
        tool_calls: [{ id: `call_${randomUUID().slice(0, 8)}`, type: "function", function: { name: answer.tool, arguments: JSON.stringify(answer.args) } }],
      };
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(
    JSON.stringify({
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message, finish_reason: answer.text ? "stop" : "tool_calls" }],
    }),
  );
}

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (req.method === "GET" && (path === "/healthz" || path === "/v1/models")) {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "scripted", object: "model" }] }));
    return;
  }
  if (req.method !== "POST" || path !== "/v1/chat/completions") {
    log(req.method, path, "→ 404");
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
    return;
  }
  let raw = "";
  for await (const part of req) raw += part;
  const body = parseJson(raw);
  if (!body || !Array.isArray(body.messages)) {
    log("POST", path, "→ 400 (no messages)");
    res.writeHead(400, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { message: "messages is required", type: "invalid_request_error" } }));
    return;
  }
  const answer = decide(body.messages);
  const last = body.messages[body.messages.length - 1] ?? {};
  const said = typeof last.content === "string" ? last.content.slice(0, 80) : "";
  log(
    "POST",
    path,
    `stream=${body.stream === true}`,
    `messages=${body.messages.length}`,
    `last=${last.role}:${JSON.stringify(said)}`,
    "→",
    answer.text ? `text ${JSON.stringify(answer.text)}` : `${answer.tool} ${JSON.stringify(answer.args)}`,
  );
  try {
    if (body.stream === true) await stream(res, body.model ?? "scripted", answer);
    else whole(res, body.model ?? "scripted", answer);
  } catch (e) {
    log("answer failed:", e?.message ?? e);
    res.destroy();
  }
});

server.listen(PORT, "127.0.0.1", () => log(`scripted provider on http://127.0.0.1:${PORT}/v1`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // the backend keeps its connections alive
  });
}
