// The pipelined HTTP/1.1 client binary-cache queries go through, against real servers on loopback:
// node's own HTTP server, and raw sockets answering the ways real servers do (chunked bodies, a
// body that ends at close, closing with pipelined requests outstanding, never answering).
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cacheClient } from "../../src/host/caches/http.js";

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw server: `answer` gets each request line in order and the socket. */
function rawServer(answer: (line: string, socket: net.Socket, index: number) => void): net.Server {
  let index = 0;
  return net.createServer((socket) => {
    let buffer = "";
    socket.on("data", (d) => {
      buffer += d.toString("latin1");
      for (let end = buffer.indexOf("\r\n\r\n"); end >= 0; end = buffer.indexOf("\r\n\r\n")) {
        const line = buffer.slice(0, buffer.indexOf("\r\n"));
        buffer = buffer.slice(end + 4);
        answer(line, socket, index++);
      }
    });
    socket.on("error", () => undefined);
  });
}

describe("cache HTTP client", () => {
  it("pipelines many GETs over a few keep-alive connections and matches each answer to its request", async () => {
    const connections = new Set<unknown>();
    const server = http.createServer((req, res) => {
      connections.add(req.socket);
      if (req.url?.startsWith("/missing")) {
        res.writeHead(404, { "content-length": "0" });
        res.end();
        return;
      }
      const body = `you asked for ${req.url} with ${req.headers.authorization ?? "no credentials"}`;
      res.writeHead(200, { "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    const url = await listen(server);
    const client = cacheClient({ connections: 3, pipeline: 8 });
    const paths = Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? `/missing-${i}` : `/p-${i}`));
    const got = await Promise.all(
      paths.map((p) => client.get(`${url}${p}`, { credentials: { login: "u", password: "pw" } })),
    );
    client.close();
    for (const [i, r] of got.entries()) {
      if (paths[i]?.startsWith("/missing")) expect(r).toMatchObject({ ok: false, status: 404 });
      else expect(r).toMatchObject({ ok: true, body: `you asked for ${paths[i]} with Basic dTpwdw==` });
    }
    expect(connections.size).toBeLessThanOrEqual(3);
  });

  it("reads chunked bodies and bodies that end when the server closes", async () => {
    const url = await listen(
      rawServer((line, socket) => {
        if (line.includes("/chunked")) {
          socket.write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
          );
        } else {
          socket.end("HTTP/1.0 200 OK\r\n\r\nuntil the end");
        }
      }),
    );
    const client = cacheClient({ connections: 1, pipeline: 1 });
    expect(await client.get(`${url}/chunked`)).toMatchObject({ ok: true, body: "hello world" });
    expect(await client.get(`${url}/close`)).toMatchObject({ ok: true, body: "until the end" });
    expect(await client.get(`${url}/chunked`)).toMatchObject({ ok: true, body: "hello world" });
    client.close();
  });

  it("sends again what a server left unanswered when it closed a pipelined connection", async () => {
    // Answers two requests per connection, then closes with the rest outstanding.
    const url = await listen(
      rawServer((line, socket) => {
        const answered = ((socket as net.Socket & { answered?: number }).answered ?? 0) + 1;
        (socket as net.Socket & { answered?: number }).answered = answered;
        if (answered > 2) return;
        const body = line.split(" ")[1] ?? "";
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        if (answered === 2) socket.destroy();
      }),
    );
    const client = cacheClient({ connections: 2, pipeline: 4 });
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => client.get(`${url}/n${i}`)));
    client.close();
    expect(got.map((r) => (r.ok ? r.body : r.error))).toEqual(Array.from({ length: 12 }, (_, i) => `/n${i}`));
  });

  it("gives up on a server that never answers, and says so for an unreachable one", async () => {
    const url = await listen(rawServer(() => undefined));
    const client = cacheClient({ connections: 1, pipeline: 4 });
    const hung = await Promise.all([
      client.get(`${url}/a`, { timeoutMs: 300 }),
      client.get(`${url}/b`, { timeoutMs: 300 }),
    ]);
    for (const r of hung) expect(r).toMatchObject({ ok: false, status: null, error: "no answer within 0.3 s" });
    const closed = await listen(net.createServer((s) => s.destroy()));
    servers.pop()?.close();
    const refused = await client.get(`${closed}/x`, { timeoutMs: 2000 });
    expect(refused).toMatchObject({ ok: false, status: null });
    expect(refused.ok ? "" : refused.error).toMatch(/ECONNREFUSED/);
    client.close();
  });

  it("ends what is still waiting when the client is closed, and opens no connection after", async () => {
    let connections = 0;
    const url = await listen(
      rawServer(() => undefined).on("connection", () => {
        connections++;
      }),
    );
    const client = cacheClient({ connections: 1, pipeline: 2 });
    const waiting = Array.from({ length: 5 }, (_, i) => client.get(`${url}/w${i}`, { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 100));
    client.close();
    for (const r of await Promise.all(waiting)) expect(r).toMatchObject({ ok: false, error: "the client was closed" });
    await new Promise((r) => setTimeout(r, 100));
    expect(connections).toBe(1);
  });
});
