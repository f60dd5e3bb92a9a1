// What `cache add` wrote, kept beside crossnix's other state so `cache remove` undoes exactly that.

/** /etc/nix/crossnix/caches/<id>.json */
export interface CacheRecord {
  url: string;
  /** The file the settings went into. */
  settingsFile: string;
  /** extra-substituters or extra-trusted-substituters. */
  setting: "extra-substituters" | "extra-trusted-substituters";
  /** Whether add put the URL on that line (false: it was there already). */
  urlAdded: boolean;
  /** Keys add put on extra-trusted-public-keys (those already trusted are not listed). */
  keysAdded: string[];
  /** The netrc entry add wrote: file, host and login (never the password). */
  netrc: { file: string; host: string; login: string; created?: boolean } | null;
  addedAt: string;
}

export const CACHE_RECORDS_DIR = "/etc/nix/crossnix/caches";

/** A file name for a URL: its host and path, with anything else turned into '-'. */
export function cacheRecordId(url: string): string {
  const bare = url.replace(/^[a-z0-9+-]+:\/\//, "").replace(/\?.*$/, "");
  return bare.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "cache";
}

export function cacheRecordPath(url: string): string {
  return `${CACHE_RECORDS_DIR}/${cacheRecordId(url)}.json`;
}

export function parseCacheRecord(text: string): CacheRecord | null {
  try {
    const value = JSON.parse(text) as Partial<CacheRecord>;
    if (typeof value.url !== "string" || typeof value.settingsFile !== "string") return null;
    if (value.setting !== "extra-substituters" && value.setting !== "extra-trusted-substituters") return null;
    return {
      url: value.url,
      settingsFile: value.settingsFile,
      setting: value.setting,
      urlAdded: value.urlAdded === true,
      keysAdded: Array.isArray(value.keysAdded) ? value.keysAdded.map(String) : [],
      netrc: value.netrc ?? null,
      addedAt: String(value.addedAt ?? ""),
    };
  } catch {
    return null;
  }
}
