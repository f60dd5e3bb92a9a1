// Asks a cache what it is and what it holds: nix-cache-info, narinfos, and a path to verify a key with.
import { type CacheInfo, looksLikeCacheInfo, parseCacheInfo } from "../../core/caches/cache-info.js";
import { hashPart, type NarInfo, parseNarInfo } from "../../core/caches/narinfo.js";
import type { NetrcCredentials } from "../../core/caches/netrc.js";
import { fetchUrl } from "../../core/caches/substituters.js";
import type { CacheClient } from "../../host/caches/http.js";

export type CacheInfoResult =
  | { ok: true; info: CacheInfo; ms: number }
  | { ok: false; status: number | null; why: string; ms: number };

/** GET <url>/nix-cache-info: what makes a URL a binary cache (docs/binary-caches.md#nix-cache-info). */
export async function fetchCacheInfo(
  client: CacheClient,
  url: string,
  credentials: NetrcCredentials | null,
  timeoutMs: number,
): Promise<CacheInfoResult> {
  const got = await client.get(`${fetchUrl(url)}/nix-cache-info`, { credentials, timeoutMs });
  if (!got.ok) {
    const why =
      got.status === 401
        ? "HTTP 401: the cache wants credentials (a netrc entry)"
        : got.status === 403
          ? "HTTP 403: the cache refuses these credentials (or wants some)"
          : got.status === 404
            ? "no nix-cache-info there (HTTP 404): not a binary cache, or a wrong URL prefix"
            : got.error;
    return { ok: false, status: got.status, why, ms: got.ms };
  }
  if (!looksLikeCacheInfo(got.body)) {
    return { ok: false, status: 200, why: "its nix-cache-info has no StoreDir line: not a binary cache", ms: got.ms };
  }
  return { ok: true, info: parseCacheInfo(got.body), ms: got.ms };
}

export type NarInfoResult =
  | { status: "found"; info: NarInfo; ms: number }
  /** 404, and 403 as Nix counts it (S3 answers 403 for a missing key). */
  | { status: "absent"; ms: number }
  | { status: "error"; error: string; ms: number };

export async function fetchNarInfo(
  client: CacheClient,
  url: string,
  storePath: string,
  credentials: NetrcCredentials | null,
  timeoutMs: number,
): Promise<NarInfoResult> {
  const got = await client.get(`${fetchUrl(url)}/${hashPart(storePath)}.narinfo`, { credentials, timeoutMs });
  if (!got.ok) {
    if (got.status === 404 || got.status === 403) return { status: "absent", ms: got.ms };
    return { status: "error", error: got.error, ms: got.ms };
  }
  const parsed = parseNarInfo(got.body);
  if (!parsed.ok) return { status: "error", error: `corrupt narinfo: ${parsed.error}`, ms: got.ms };
  if (parsed.info.storePath !== storePath) {
    return { status: "error", error: `narinfo is for ${parsed.info.storePath}`, ms: got.ms };
  }
  return { status: "found", info: parsed.info, ms: got.ms };
}

/** Runs `task` over `items` with at most `limit` at a time, results in input order. */
export function mapConcurrent<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const slot = concurrencyLimit(limit);
  return Promise.all(items.map((item) => slot(() => task(item))));
}

/** Runs tasks with at most `limit` at a time; the rest wait their turn, in order. */
export function concurrencyLimit(limit: number): <R>(task: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** The first of `candidates` the cache has a narinfo for (queried concurrently), or null. */
export async function firstCached(
  client: CacheClient,
  url: string,
  candidates: readonly string[],
  credentials: NetrcCredentials | null,
  timeoutMs: number,
): Promise<NarInfo | null> {
  let found: NarInfo | null = null;
  await mapConcurrent(candidates, 16, async (path) => {
    if (found) return;
    const result = await fetchNarInfo(client, url, path, credentials, timeoutMs);
    if (result.status === "found" && !found) found = result.info;
  });
  return found;
}
