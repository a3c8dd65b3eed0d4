// An incremental parser for server-sent events (the WHATWG event-stream format) over a fetch
// body: `EventSource` cannot POST, so the message route is read with fetch and parsed here.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Feed it text as it arrives (any chunking, any of \n, \r\n, \r); it calls `onEvent` once per
 * complete event. Comments (keep-alives) and events without data are skipped. */
export function createSseParser(onEvent: (event: SseEvent) => void) {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  // A chunk may end between \r and \n: the \n must not end a second (empty) line.
  let skipLeadingNewline = false;

  const dispatch = () => {
    if (data.length) onEvent({ event: event || "message", data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
    event = "";
    data = [];
  };

  const line = (text: string) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
  };

  return {
    push(chunk: string) {
      buffer += chunk;
      if (skipLeadingNewline && buffer.startsWith("\n")) buffer = buffer.slice(1);
      skipLeadingNewline = false;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        line(buffer.slice(start, i));
        if (c === "\r") {
          if (i + 1 === buffer.length) skipLeadingNewline = true;
          else if (buffer[i + 1] === "\n") i++;
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    /** The stream ended: a last event without its blank line is dropped, as the spec says. */
    end() {
      buffer = "";
      event = "";
      data = [];
    },
  };
}
