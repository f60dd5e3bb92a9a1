// `cache list`: every substituter from every source, each cache asked concurrently what it is.
import type { Context } from "../../context.js";
import { NIXOS_CACHE_PRIORITY } from "../../core/caches/cache-info.js";
import { fetchUrl, type SubstituterEntry } from "../../core/caches/substituters.js";
import { cacheClient } from "../../host/caches/http.js";
import { fetchCacheInfo } from "./probe.js";
import { daemonCredentials, loadCacheState } from "./state.js";

export interface CacheListing {
  url: string;
  role: SubstituterEntry["role"];
  source: string;
  /** The priority Nix uses: ?priority= in the URL, else the cache's, else 0; null when unreachable. */
  priority: number | null;
  wantMassQuery: boolean | null;
  keys: string[];
  reachable: boolean | null;
  latencyMs: number | null;
  problem: string | null;
  /** For a user's entry: whether the daemon honours it for an untrusted user. */
  honouredForUntrusted: boolean | null;
  /** crossnix added it (cache remove can take it out). */
  addedByCrossnix: boolean;
}

export interface CacheListResult {
  caches: CacheListing[];
  settingsFile: string;
  /** What a user the daemon does not trust may add: the daemon's substituters and trusted-substituters. */
  untrustedMayUse: string[];
  userKeysIgnored: { key: string; source: string }[];
}

export async function listCaches(ctx: Pick<Context, "host" | "options" | "progress">): Promise<CacheListResult> {
  const state = await loadCacheState(ctx.host, { nixVersion: false });
  const timeoutMs = ctx.options.timeout * 1000;
  const client = cacheClient({ timeoutMs });
  try {
    const urls = [...new Set(state.view.entries.map((e) => fetchUrl(e.url)))];
    const probed = new Map(
      await Promise.all(
        urls.map(async (url) => {
          if (!/^(https?|file):/.test(url)) return [url, null] as const;
          return [url, await fetchCacheInfo(client, url, daemonCredentials(state, url), timeoutMs)] as const;
        }),
      ),
    );
    const caches = state.view.entries.map((entry): CacheListing => {
      const got = probed.get(fetchUrl(entry.url)) ?? null;
      const info = got?.ok ? got.info : null;
      return {
        url: entry.url,
        role: entry.role,
        source: entry.source,
        priority: entry.priorityParam ?? (info ? (info.priority ?? 0) : null),
        wantMassQuery: info?.wantMassQuery ?? null,
        // Keys named after the host, and the keys crossnix added with this cache (any name).
        keys: [
          ...new Set([
            ...entry.keys,
            ...state.records
              .filter((r) => r.record.url === entry.url)
              .flatMap((r) => r.record.keysAdded.map((k) => k.slice(0, k.indexOf(":")))),
          ]),
        ],
        reachable: got === null ? null : got.ok,
        latencyMs: got === null ? null : Math.round(got.ms),
        problem: got && !got.ok ? got.why : null,
        honouredForUntrusted: entry.honouredForUntrusted,
        addedByCrossnix: state.records.some((r) => r.record.url === entry.url),
      };
    });
    return {
      caches,
      settingsFile: state.settings.path,
      untrustedMayUse: state.view.entries.filter((e) => e.role !== "user").map((e) => e.url),
      userKeysIgnored: state.view.userKeys.map((k) => ({ key: k.word, source: k.source })),
    };
  } finally {
    client.close();
  }
}

export { NIXOS_CACHE_PRIORITY };
