// Reads files of binary caches: over HTTP(S) with keep-alive connections, or from file:// directories.
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { NetrcCredentials } from "../../core/caches/netrc.js";

export type CacheFetch =
  | { ok: true; status: number; body: string; ms: number }
  | { ok: false; status: number | null; error: string; ms: number };

/** One client: its keep-alive agents reuse connections across every request it makes. */
export interface CacheClient {
  get(url: string, options?: { credentials?: NetrcCredentials | null; timeoutMs?: number }): Promise<CacheFetch>;
  close(): void;
}

/** `maxSockets` bounds the connections per cache host (the concurrency of queries to it). */
export function cacheClient(options: { maxSockets?: number; timeoutMs?: number } = {}): CacheClient {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  return {
    get: (url, given = {}) => {
      const timeoutMs = given.timeoutMs ?? options.timeoutMs ?? 10_000;
      if (url.startsWith("file://")) return readLocal(url);
      return request(url, agents, given.credentials ?? null, timeoutMs);
    },
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

async function readLocal(url: string): Promise<CacheFetch> {
  const started = performance.now();
  const file = decodeURIComponent(new URL(url).pathname);
  try {
    const body = await readFile(file, "utf8");
    return { ok: true, status: 200, body, ms: performance.now() - started };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const status = code === "ENOENT" ? 404 : null;
    return {
      ok: false,
      status,
      error: code === "ENOENT" ? "not found" : String(error),
      ms: performance.now() - started,
    };
  }
}

function request(
  url: string,
  agents: { http: http.Agent; https: https.Agent },
  credentials: NetrcCredentials | null,
  timeoutMs: number,
): Promise<CacheFetch> {
  const started = performance.now();
  const ms = () => performance.now() - started;
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ ok: false, status: null, error: `not a URL: ${url}`, ms: 0 });
      return;
    }
    const secure = parsed.protocol === "https:";
    const headers: Record<string, string> = { "user-agent": "crossnix" };
    if (credentials) {
      headers["authorization"] =
        `Basic ${Buffer.from(`${credentials.login}:${credentials.password}`).toString("base64")}`;
    }
    const req = (secure ? https : http).request(
      parsed,
      { agent: secure ? agents.https : agents.http, headers, method: "GET" },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status === 200) resolve({ ok: true, status, body, ms: ms() });
          else
            resolve({
              ok: false,
              status,
              error: `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`,
              ms: ms(),
            });
        });
        res.on("error", (e) => resolve({ ok: false, status: null, error: e.message, ms: ms() }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 100) / 10} s`));
    }, timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, status: null, error: e.message, ms: ms() });
    });
    req.end();
  });
}
