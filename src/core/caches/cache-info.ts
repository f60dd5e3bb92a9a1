// `nix-cache-info`, the file that makes a URL a binary cache.

/** What a cache says about itself (docs/binary-caches.md#nix-cache-info); absent keys are null. */
export interface CacheInfo {
  storeDir: string | null;
  wantMassQuery: boolean | null;
  priority: number | null;
}

/** `Key: value` lines; unknown keys and malformed lines are ignored, as Nix does. */
export function parseCacheInfo(text: string): CacheInfo {
  const info: CacheInfo = { storeDir: null, wantMassQuery: null, priority: null };
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 1) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "StoreDir") info.storeDir = value;
    else if (key === "WantMassQuery") info.wantMassQuery = value === "1";
    else if (key === "Priority" && /^\d+$/.test(value)) info.priority = Number(value);
  }
  return info;
}

/**
 * Whether a body looks like a nix-cache-info at all: a web page or an error document served with
 * status 200 has no `StoreDir:` line. Nix needs the line to compare store directories.
 */
export function looksLikeCacheInfo(text: string): boolean {
  return /^StoreDir: *\S/m.test(text);
}

/** Nix's default when a cache does not say (store-api.hh, 2.8 and later). */
export const DEFAULT_CACHE_PRIORITY = 0;
/** cache.nixos.org advertises 40 (docs/binary-caches.md#priority). */
export const NIXOS_CACHE_PRIORITY = 40;
