// What doctor's cache checks are decided from: the daemon's caches (asked concurrently), netrc, records.
import { stat } from "node:fs/promises";
import type { CacheFacts } from "../../core/doctor/cache.js";
import { netrcCredentials, netrcHasMachine } from "../../core/caches/netrc.js";
import { CACHE_RECORDS_DIR, parseCacheRecord } from "../../core/caches/record.js";
import { fetchUrl, substituterView } from "../../core/caches/substituters.js";
import { type ConfigLayer, effectiveSetting, nixConfDir } from "../../core/nix/settings.js";
import { cacheClient } from "../../host/caches/http.js";
import type { Host } from "../../host/system/host.js";
import { fetchCacheInfo } from "./probe.js";

export async function gatherCacheFacts(
  host: Host,
  input: {
    systemLayers: ConfigLayer[];
    clientLayers: ConfigLayer[];
    trusted: boolean;
    user: string;
    timeoutSeconds: number;
  },
): Promise<CacheFacts> {
  const view = substituterView([...input.systemLayers, ...input.clientLayers]);
  const netrcPath = effectiveSetting("netrc-file", input.systemLayers).value ?? `${nixConfDir(host.env)}/netrc`;
  const netrcText = netrcPath.startsWith("/") ? await host.readText(netrcPath).catch(() => null) : null;
  const mode = netrcPath.startsWith("/") ? ((await stat(host.path(netrcPath)).catch(() => null))?.mode ?? null) : null;
  const recordedKeys = new Map<string, string[]>();
  const netrcHosts = new Set<string>();
  for (const name of await host.list(CACHE_RECORDS_DIR)) {
    const text = await host.readText(`${CACHE_RECORDS_DIR}/${name}`).catch(() => null);
    const record = text ? parseCacheRecord(text) : null;
    if (!record) continue;
    recordedKeys.set(
      record.url,
      record.keysAdded.map((k) => k.slice(0, k.indexOf(":"))),
    );
    if (record.netrc) netrcHosts.add(record.netrc.host);
  }
  const daemon = view.entries.filter((e) => e.role === "daemon");
  for (const e of daemon) {
    const h = hostOf(e.url);
    if (h && netrcText && netrcHasMachine(netrcText, h)) netrcHosts.add(h);
  }
  const timeoutMs = input.timeoutSeconds * 1000;
  const client = cacheClient({ timeoutMs });
  try {
    const probes = await Promise.all(
      daemon
        .filter((e) => /^(https?|file):/.test(e.url))
        .map(async (e) => {
          const h = hostOf(e.url);
          const credentials = netrcText && h ? netrcCredentials(netrcText, h) : null;
          const got = await fetchCacheInfo(client, fetchUrl(e.url), credentials, timeoutMs);
          return {
            url: e.url,
            ok: got.ok,
            why: got.ok ? null : got.why,
            priority: got.ok ? got.info.priority : null,
            ms: got.ms,
          };
        }),
    );
    return {
      view,
      probes,
      trusted: input.trusted,
      user: input.user,
      recordedKeys,
      netrc: { path: netrcPath, mode, needed: [...netrcHosts] },
    };
  } finally {
    client.close();
  }
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname || null;
  } catch {
    return null;
  }
}
