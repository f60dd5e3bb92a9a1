// Reads files of binary caches: over HTTP(S) with keep-alive, pipelined connections, or from file:// directories.
import { readFile } from "node:fs/promises";
import type { NetrcCredentials } from "../../core/caches/netrc.js";
import { Origin, type OriginOptions } from "./http1.js";

export type CacheFetch =
  | { ok: true; status: number; body: string; ms: number }
  | { ok: false; status: number | null; error: string; ms: number };

/** One client: its keep-alive agents reuse connections across every request it makes. */
export interface CacheClient {
  get(url: string, options?: { credentials?: NetrcCredentials | null; timeoutMs?: number }): Promise<CacheFetch>;
  close(): void;
}

/**
 * `connections` bounds the connections per cache origin, `pipeline` the requests in flight on each
 * (docs/binary-caches.md#pipelining); together, the concurrency of queries to one cache.
 */
export function cacheClient(
  options: { connections?: number; pipeline?: number; timeoutMs?: number } = {},
): CacheClient {
  const originOptions = { connections: options.connections ?? 8, depth: options.pipeline ?? 1 };
  const origins = new Map<string, Origin>();
  return {
    get: (url, given = {}) => {
      const timeoutMs = given.timeoutMs ?? options.timeoutMs ?? 10_000;
      if (url.startsWith("file://")) return readLocal(url);
      return request(url, origins, originOptions, given.credentials ?? null, timeoutMs);
    },
    close: () => {
      for (const origin of origins.values()) origin.close();
      origins.clear();
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

async function request(
  url: string,
  origins: Map<string, Origin>,
  options: OriginOptions,
  credentials: NetrcCredentials | null,
  timeoutMs: number,
): Promise<CacheFetch> {
  const started = performance.now();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, status: null, error: `not a URL: ${url}`, ms: 0 };
  }
  let origin = origins.get(parsed.origin);
  if (!origin) {
    origin = new Origin(parsed, options);
    origins.set(parsed.origin, origin);
  }
  const headers: Record<string, string> = {};
  if (credentials) {
    headers["Authorization"] =
      `Basic ${Buffer.from(`${credentials.login}:${credentials.password}`).toString("base64")}`;
  }
  const got = await origin.get(`${parsed.pathname}${parsed.search}`, headers, timeoutMs);
  return { ...got, ms: performance.now() - started };
}
