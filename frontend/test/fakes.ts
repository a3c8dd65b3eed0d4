import type { EventSourceLike, WebSocketLike } from "@/lib/realtime";

export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  closed = false;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.onopen?.({});
  }
  send(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
  fail() {
    this.onerror?.({});
    this.onclose?.({ code: 1006 });
  }
  close() {
    this.closed = true;
  }
}

export class FakeSource implements EventSourceLike {
  static all: FakeSource[] = [];
  onopen: EventSourceLike["onopen"] = null;
  onmessage: EventSourceLike["onmessage"] = null;
  onerror: EventSourceLike["onerror"] = null;
  closed = false;
  constructor(public url: string) {
    FakeSource.all.push(this);
  }
  open() {
    this.onopen?.({});
  }
  send(data: unknown, id?: string) {
    this.onmessage?.({ data: JSON.stringify(data), lastEventId: id });
  }
  fail() {
    this.onerror?.({});
  }
  close() {
    this.closed = true;
  }
}

export function reset() {
  FakeSocket.all = [];
  FakeSource.all = [];
}
