// A small HTTP/1.1 GET client for binary caches: a few keep-alive connections per origin, each with
// several requests pipelined (docs/binary-caches.md#pipelining). Thousands of small narinfo GETs cost
// a fraction of node:http's per-request machinery; a server that closes with requests outstanding
// gets them again, one at a time per connection from then on.
import * as net from "node:net";
import * as tls from "node:tls";

export type Http1Result =
  | { ok: true; status: number; body: string }
  | { ok: false; status: number | null; error: string };

interface Pending {
  path: string;
  headers: string;
  attempts: number;
  done: boolean;
  finish(result: Http1Result): void;
}

export interface OriginOptions {
  /** Connections at most to this origin. */
  connections: number;
  /** Requests in flight at most on one connection (1 = no pipelining). */
  depth: number;
}

const CRLF2 = Buffer.from("\r\n\r\n");
/** A request its connection broke on is sent again once, then fails. */
const MAX_ATTEMPTS = 2;

/** Every connection to one scheme://host:port. */
export class Origin {
  private readonly queue: Pending[] = [];
  private readonly conns = new Set<Connection>();
  private depth: number;
  private scheduled: NodeJS.Immediate | null = null;
  private closed = false;

  constructor(
    readonly url: URL,
    private readonly options: OriginOptions,
  ) {
    this.depth = Math.max(1, options.depth);
  }

  get(path: string, extraHeaders: Record<string, string>, timeoutMs: number): Promise<Http1Result> {
    const host = this.url.host;
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, "User-Agent: crossnix", "Accept: */*"];
    for (const [name, value] of Object.entries(extraHeaders)) lines.push(`${name}: ${value}`);
    const headers = `${lines.join("\r\n")}\r\n\r\n`;
    return new Promise((resolve) => {
      const pending: Pending = {
        path,
        headers,
        attempts: 0,
        done: false,
        finish: (result) => {
          if (pending.done) return;
          pending.done = true;
          clearTimeout(timer);
          resolve(result);
        },
      };
      const timer = setTimeout(() => {
        const error = `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
        pending.finish({ ok: false, status: null, error });
        // A hung server holds the connection; drop it, the others on it are sent again.
        for (const conn of this.conns) if (conn.holds(pending)) conn.destroy(new Error(error));
        this.pump();
      }, timeoutMs);
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Drops every connection; what is still waiting or unanswered ends at once, and nothing reconnects. */
  close(): void {
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    for (const p of this.queue.splice(0)) p.finish({ ok: false, status: null, error: "the client was closed" });
    for (const conn of this.conns) conn.destroy(new Error("the client was closed"));
    this.conns.clear();
  }

  /**
   * Hands queued requests to connections once per event-loop turn, so that what arrived in one turn
   * leaves in one write per connection (on loopback a write costs about as much as the request).
   */
  private pump(): void {
    if (this.closed) return;
    this.scheduled ??= setImmediate(() => {
      this.scheduled = null;
      this.assign();
    });
  }

  /** Fills connections (a busy one only once half its pipeline is answered), opens more up to the limit. */
  private assign(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (next.done) {
        this.queue.shift();
        continue;
      }
      let best: Connection | null = null;
      for (const conn of this.conns) {
        const open = conn.inFlight < this.depth && (conn.inFlight <= this.depth / 2 || conn.sending);
        if (conn.usable && open && (!best || conn.inFlight < best.inFlight)) best = conn;
      }
      if ((!best || best.inFlight > 0) && this.conns.size < this.options.connections) best = this.open();
      if (!best) break;
      best.send(this.queue.shift() as Pending);
    }
    for (const conn of this.conns) conn.flush();
  }

  private open(): Connection {
    const conn = new Connection(this.url, {
      released: (requeue, pipeliningBroke, reused) => {
        this.conns.delete(conn);
        if (this.closed) {
          for (const p of requeue) p.finish({ ok: false, status: null, error: "the client was closed" });
          return;
        }
        if (pipeliningBroke) this.depth = 1;
        // Only the first unanswered request may be what the server choked on, and only on a fresh
        // connection (a reused one may just have been closed as idle); the rest go again freely.
        for (const [index, p] of requeue.entries()) {
          if (index === 0 && !reused) p.attempts++;
          if (p.attempts >= MAX_ATTEMPTS) p.finish({ ok: false, status: null, error: "the connection closed early" });
          else if (!p.done) this.queue.push(p);
        }
        this.pump();
      },
      answered: () => this.pump(),
    });
    this.conns.add(conn);
    return conn;
  }
}

interface ConnectionEvents {
  /** The connection is gone; `requeue` were sent but not answered. */
  released(requeue: Pending[], pipeliningBroke: boolean, reused: boolean): void;
  answered(): void;
}

/** One socket: requests go out in order, responses come back in the same order. */
class Connection {
  private readonly socket: net.Socket;
  private readonly inFlightQueue: Pending[] = [];
  private outgoing: string[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private answers = 0;
  private closing = false;
  private released = false;
  /** A response whose body ends when the server closes the connection. */
  private untilClose: { status: number; reason: string; bodyStart: number } | null = null;
  usable = true;

  constructor(
    url: URL,
    private readonly events: ConnectionEvents,
  ) {
    const secure = url.protocol === "https:";
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port) || (secure ? 443 : 80);
    this.socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ["http/1.1"] })
      : net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error) => this.release(error));
    this.socket.on("close", () => this.release(null));
  }

  get inFlight(): number {
    return this.inFlightQueue.length;
  }

  /** Requests are waiting to be written (it is being filled). */
  get sending(): boolean {
    return this.outgoing.length > 0;
  }

  holds(pending: Pending): boolean {
    return this.inFlightQueue.includes(pending);
  }

  send(pending: Pending): void {
    this.inFlightQueue.push(pending);
    this.outgoing.push(pending.headers);
  }

  flush(): void {
    if (this.outgoing.length === 0) return;
    this.socket.write(this.outgoing.join(""));
    this.outgoing = [];
  }

  destroy(error: Error | null): void {
    this.socket.destroy();
    this.release(error);
  }

  private release(error: Error | null): void {
    if (this.released) return;
    this.released = true;
    this.usable = false;
    this.socket.destroy();
    const last = this.untilClose;
    if (last && !error) {
      const body = this.buffer.toString("utf8", last.bodyStart);
      this.inFlightQueue.shift()?.finish(answer(last.status, last.reason, body));
      this.answers++;
    }
    const unanswered = this.inFlightQueue.splice(0);
    // A connection that never answered anything: the server is unreachable, not tired of us.
    if (this.answers === 0 && error) {
      for (const p of unanswered) p.finish({ ok: false, status: null, error: error.message });
      this.events.released([], false, false);
      return;
    }
    this.events.released(unanswered, unanswered.length > 1 && !this.closing, this.answers > 0);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.untilClose) return;
    let answered = false;
    for (;;) {
      const parsed = parseResponse(this.buffer);
      if (parsed === "incomplete") break;
      if (parsed === "invalid") {
        this.destroy(new Error("the server's answer is not HTTP/1.1"));
        return;
      }
      if ("untilClose" in parsed) {
        this.untilClose = parsed;
        this.closing = true;
        this.usable = false;
        break;
      }
      this.buffer = this.buffer.subarray(parsed.consumed);
      if (parsed.status >= 100 && parsed.status < 200) continue;
      const pending = this.inFlightQueue.shift();
      this.answers++;
      answered = true;
      if (parsed.close) {
        this.closing = true;
        this.usable = false;
      }
      pending?.finish(answer(parsed.status, parsed.reason, parsed.body));
      if (parsed.close) {
        this.destroy(null);
        return;
      }
    }
    if (answered) this.events.answered();
  }
}

function answer(status: number, reason: string, body: string): Http1Result {
  if (status === 200) return { ok: true, status, body };
  return { ok: false, status, error: `HTTP ${status}${reason ? ` ${reason}` : ""}` };
}

type Parsed =
  | { status: number; reason: string; body: string; consumed: number; close: boolean }
  | { untilClose: true; status: number; reason: string; bodyStart: number }
  | "incomplete"
  | "invalid";

/** One response from the start of `buffer`: status line, headers, and a body by length or chunks. */
export function parseResponse(buffer: Buffer): Parsed {
  const headEnd = buffer.indexOf(CRLF2);
  if (headEnd < 0) return buffer.length > 64 * 1024 ? "invalid" : "incomplete";
  const head = buffer.toString("latin1", 0, headEnd).split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(head[0] ?? "");
  if (!statusLine) return "invalid";
  const status = Number(statusLine[2]);
  let length: number | null = null;
  let chunked = false;
  let connection = "";
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length") length = Number(value);
    else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
    else if (name === "connection") connection = value.toLowerCase();
  }
  const close = connection.includes("close") || (statusLine[1] === "0" && !connection.includes("keep-alive"));
  const bodyStart = headEnd + 4;
  const noBody = (status >= 100 && status < 200) || status === 204 || status === 304;
  if (noBody) return { status, reason: statusLine[3] ?? "", body: "", consumed: bodyStart, close };
  if (chunked) {
    const body = dechunk(buffer, bodyStart);
    if (body === "invalid" || body === "incomplete") return body;
    return { status, reason: statusLine[3] ?? "", body: body.text, consumed: body.end, close };
  }
  // No length and no chunks: the body runs until the server closes the connection.
  if (length === null) return { untilClose: true, status, reason: statusLine[3] ?? "", bodyStart };
  if (!Number.isSafeInteger(length) || length < 0) return "invalid";
  if (buffer.length < bodyStart + length) return "incomplete";
  const body = buffer.toString("utf8", bodyStart, bodyStart + length);
  return { status, reason: statusLine[3] ?? "", body, consumed: bodyStart + length, close };
}

function dechunk(buffer: Buffer, start: number): { text: string; end: number } | "incomplete" | "invalid" {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", at);
    if (lineEnd < 0) return "incomplete";
    const size = Number.parseInt(buffer.toString("latin1", at, lineEnd).split(";")[0] ?? "", 16);
    if (!Number.isSafeInteger(size) || size < 0) return "invalid";
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      const end = buffer.indexOf(CRLF2, at - 2);
      if (end < 0) return "incomplete";
      return { text: Buffer.concat(parts).toString("utf8"), end: end + 4 };
    }
    if (buffer.length < at + size + 2) return "incomplete";
    parts.push(buffer.subarray(at, at + size));
    at += size + 2;
  }
}
