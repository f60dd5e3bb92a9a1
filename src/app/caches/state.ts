// What every cache command reads first: the daemon's settings file, every nix.conf layer, the netrc
// the daemon reads, crossnix's records of caches it added, and how to restart the daemon.
import type { PublicKey } from "../../core/caches/keys.js";
import { netrcCredentials, type NetrcCredentials } from "../../core/caches/netrc.js";
import { CACHE_RECORDS_DIR, type CacheRecord, parseCacheRecord } from "../../core/caches/record.js";
import { type SubstituterView, substituterView } from "../../core/caches/substituters.js";
import { type NixConf, parseNixConf, validateNixConf } from "../../core/formats/nix-conf.js";
import type { PlanCommand } from "../../core/plan/plan.js";
import { type ConfigLayer, effectiveSetting, nixConfDir } from "../../core/nix/settings.js";
import { loadConfigLayers } from "../../host/nix/config-layers.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";
import { detectHost, type HostInfo } from "../../host/nix/detect.js";
import type { Host } from "../../host/system/host.js";

export interface CacheState {
  info: HostInfo;
  settings: { path: string; text: string | null; model: NixConf };
  layers: ConfigLayer[];
  view: SubstituterView;
  /** The netrc file the daemon reads (`netrc-file`, default $NIX_CONF_DIR/netrc). */
  netrc: { path: string; text: string | null; readable: boolean };
  records: { path: string; text: string; record: CacheRecord }[];
}

export async function loadCacheState(host: Host, options: { nixVersion?: boolean } = {}): Promise<CacheState> {
  const info = await detectHost(host, options);
  const text = await host.readText(info.settingsFile);
  const model = parseNixConf(text ?? "", info.settingsFile);
  validateNixConf(model);
  const layers = await loadConfigLayers(host);
  const system = layers.filter((l) => l.kind === "system-file");
  const netrcPath = effectiveSetting("netrc-file", system).value ?? `${nixConfDir(host.env)}/netrc`;
  let netrcText: string | null = null;
  let readable = true;
  try {
    netrcText = await host.readText(netrcPath);
  } catch {
    readable = false;
  }
  const records: CacheState["records"] = [];
  for (const name of (await host.list(CACHE_RECORDS_DIR)).filter((n) => n.endsWith(".json")).sort()) {
    const path = `${CACHE_RECORDS_DIR}/${name}`;
    const recordText = await host.readText(path).catch(() => null);
    const record = recordText ? parseCacheRecord(recordText) : null;
    if (recordText && record) records.push({ path, text: recordText, record });
  }
  return {
    info,
    settings: { path: info.settingsFile, text, model },
    layers,
    view: substituterView(layers),
    netrc: { path: netrcPath, text: netrcText, readable },
    records,
  };
}

/** Credentials the daemon would send to a cache's host, from its netrc. */
export function daemonCredentials(state: CacheState, url: string): NetrcCredentials | null {
  if (!state.netrc.text) return null;
  try {
    return netrcCredentials(state.netrc.text, new URL(url).hostname);
  } catch {
    return null;
  }
}

/** The daemon's substituter URLs (used for every build) and trusted keys. */
export function daemonSubstituters(state: CacheState): string[] {
  return state.view.entries.filter((e) => e.role === "daemon").map((e) => e.url);
}

export function daemonKeys(state: CacheState): PublicKey[] {
  return state.view.trustedKeys;
}

export async function restartCommand(host: Host, state: CacheState): Promise<PlanCommand | null> {
  return daemonRestartCommand(host, state.info);
}
