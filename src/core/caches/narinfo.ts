// `<hash>.narinfo` files of a binary cache: parsed, and the fingerprint their signatures cover.
import { canonicalHash } from "./nix32.js";

/** A narinfo's fields (docs/binary-caches.md#narinfo). References are full store paths here. */
export interface NarInfo {
  storePath: string;
  url: string;
  compression: string;
  fileHash: string | null;
  fileSize: number | null;
  narHash: string;
  narSize: number;
  references: string[];
  deriver: string | null;
  sigs: string[];
  ca: string | null;
}

export type NarInfoParse = { ok: true; info: NarInfo } | { ok: false; error: string };

/** The part of a store path a narinfo is named after: the first 32 characters of its base name. */
export function hashPart(storePath: string): string {
  const base = storePath.slice(storePath.lastIndexOf("/") + 1);
  return base.slice(0, 32);
}

const STORE_BASE = /^[0123456789abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+\-._?=]+$/;

/** A full store path under `storeDir` with a valid base name. */
export function isStorePath(path: string, storeDir = "/nix/store"): boolean {
  return path.startsWith(`${storeDir}/`) && STORE_BASE.test(path.slice(storeDir.length + 1));
}

/**
 * Parses a narinfo as Nix does (nar-info.cc): `Key: value` lines, unknown keys ignored, `Sig` may
 * repeat. StorePath, URL, NarHash and a non-zero NarSize are required; a missing Compression means
 * bzip2. Errors name the line, like Nix's "NAR info file … is corrupt".
 */
export function parseNarInfo(text: string, storeDir = "/nix/store"): NarInfoParse {
  const fields = new Map<string, string>();
  const sigs: string[] = [];
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    if (line === "") continue;
    const colon = line.indexOf(": ");
    if (colon < 1) return { ok: false, error: `line ${index + 1} is not 'Key: value'` };
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key === "Sig") sigs.push(value);
    else fields.set(key, value);
  }
  const storePath = fields.get("StorePath");
  const url = fields.get("URL");
  const narHash = fields.get("NarHash");
  const narSize = Number(fields.get("NarSize") ?? "0");
  if (!storePath || !isStorePath(storePath, storeDir)) return { ok: false, error: "StorePath missing or invalid" };
  if (!url) return { ok: false, error: "URL missing" };
  if (!narHash) return { ok: false, error: "NarHash missing" };
  if (!Number.isSafeInteger(narSize) || narSize <= 0) return { ok: false, error: "NarSize missing or zero" };
  const refs = (fields.get("References") ?? "").split(" ").filter(Boolean);
  const deriver = fields.get("Deriver");
  const fileSize = fields.get("FileSize");
  return {
    ok: true,
    info: {
      storePath,
      url,
      compression: fields.get("Compression") || "bzip2",
      fileHash: fields.get("FileHash") ?? null,
      fileSize: fileSize === undefined ? null : Number(fileSize),
      narHash,
      narSize,
      references: refs.map((r) => `${storeDir}/${r}`),
      deriver: deriver && deriver !== "unknown-deriver" ? `${storeDir}/${deriver}` : null,
      sigs,
      ca: fields.get("CA") ?? null,
    },
  };
}

/**
 * What a narinfo signature signs (ValidPathInfo::fingerprint): `1;<path>;<narHash as
 * sha256:nix32>;<narSize>;<references as full paths, comma-joined>`. null when the NarHash is in
 * no form Nix can sign.
 */
export function narInfoFingerprint(info: NarInfo): string | null {
  const hash = canonicalHash(info.narHash);
  if (!hash) return null;
  return `1;${info.storePath};${hash};${info.narSize};${[...info.references].sort().join(",")}`;
}
