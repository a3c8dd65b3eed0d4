import { describe, expect, it } from "vitest";
import { createSseParser, type SseEvent } from "@/lib/assistant/sse";

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  parser.end();
  return events;
}

describe("createSseParser", () => {
  it("yields named events with their data, whatever the chunking", () => {
    const text = 'event: item.delta\ndata: {"delta":"Hel"}\n\nevent: done\ndata: {}\n\n';
    const whole = parse([text]);
    expect(whole).toEqual([
      { event: "item.delta", data: '{"delta":"Hel"}' },
      { event: "done", data: "{}" },
    ]);
    // One character at a time gives the same events.
    expect(parse([...text])).toEqual(whole);
  });

  it("accepts \\r\\n and \\r line ends, even when \\r\\n is split across chunks", () => {
    expect(parse(["event: a\r", "\ndata: 1\r", "\n\r", "\n"])).toEqual([{ event: "a", data: "1" }]);
    expect(parse(["event: b\rdata: 2\r\r"])).toEqual([{ event: "b", data: "2" }]);
  });

  it("skips keep-alive comments and joins multi-line data", () => {
    expect(parse([": keep-alive\n\n", "data: line 1\ndata: line 2\n\n"])).toEqual([{ event: "message", data: "line 1\nline 2" }]);
  });

  it("keeps only one leading space of a value and remembers the last id", () => {
    expect(parse(["id: 7\nevent:x\ndata:  two spaces\n\n"])).toEqual([{ event: "x", data: " two spaces", id: "7" }]);
  });

  it("drops an event cut off before its blank line", () => {
    expect(parse(["event: done\ndata: {}\n"])).toEqual([]);
  });
});
