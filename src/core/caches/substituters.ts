// Every substituter the daemon uses (and those a user's files ask for), with where each was set.
import { type ConfigLayer, effectiveSetting } from "../nix/settings.js";
import { type PublicKey, parsePublicKeys } from "./keys.js";

/** Nix's defaults (globals.hh, 2.8 and later; docs/binary-caches.md#settings). */
export const DEFAULT_SUBSTITUTERS = "https://cache.nixos.org/";
export const DEFAULT_TRUSTED_KEYS = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";

export interface SourcedWord {
  word: string;
  /** file:line, NIX_CONFIG:line, or "default". */
  source: string;
}

/** The words of a list setting with the line each came from: a plain assignment resets, extra- appends. */
export function sourcedWords(name: string, layers: ConfigLayer[], fallback: string): SourcedWord[] {
  const setting = effectiveSetting(name, layers);
  let words: SourcedWord[] = fallback
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => ({ word, source: "default" }));
  for (const step of setting.history) {
    const from = `${step.source}:${step.line}`;
    const added = step.value
      .split(/\s+/)
      .filter(Boolean)
      .map((word) => ({ word, source: from }));
    words = step.op === "set" ? added : [...words, ...added];
  }
  return words;
}

export interface SubstituterEntry {
  url: string;
  source: string;
  /** "daemon": the daemon uses it for every build; "trusted": any user may ask for it; "user": a user's file asks for it. */
  role: "daemon" | "trusted" | "user";
  /** From `?priority=` in the URL, else null (the cache's nix-cache-info decides). */
  priorityParam: number | null;
  /** Trusted keys whose name matches the cache's host (cache.nixos.org-1 for cache.nixos.org). */
  keys: string[];
  /** For a user's entry: whether the daemon lets an untrusted user use it (it lists the URL). */
  honouredForUntrusted: boolean | null;
}

export interface SubstituterView {
  entries: SubstituterEntry[];
  trustedKeys: (PublicKey & { source: string })[];
  /** Keys a user's files add: the daemon ignores them for untrusted users. */
  userKeys: SourcedWord[];
}

/** The daemon's view (system layers) plus what the user's files and NIX_CONFIG ask for. */
export function substituterView(layers: ConfigLayer[]): SubstituterView {
  const system = layers.filter((l) => l.kind === "system-file");
  const daemonSubs = sourcedWords("substituters", system, DEFAULT_SUBSTITUTERS);
  const trustedSubs = sourcedWords("trusted-substituters", system, "");
  const keyWords = sourcedWords("trusted-public-keys", system, DEFAULT_TRUSTED_KEYS);
  const trustedKeys = keyWords.flatMap((w) => parsePublicKeys(w.word).map((k) => ({ ...k, source: w.source })));
  const all = sourcedWords("substituters", layers, DEFAULT_SUBSTITUTERS);
  const userSubs = all.filter((w) => !daemonSubs.some((d) => d.word === w.word && d.source === w.source));
  const allKeys = sourcedWords("trusted-public-keys", layers, DEFAULT_TRUSTED_KEYS);
  const userKeys = allKeys.filter((w) => !keyWords.some((d) => d.word === w.word && d.source === w.source));
  const listed = [...daemonSubs, ...trustedSubs].map((w) => w.word);
  const entry = (w: SourcedWord, role: SubstituterEntry["role"]): SubstituterEntry => ({
    url: w.word,
    source: w.source,
    role,
    priorityParam: priorityParam(w.word),
    keys: matchingKeys(w.word, trustedKeys),
    honouredForUntrusted: role === "user" ? listed.some((u) => sameSubstituter(u, w.word)) : null,
  });
  const entries = [
    ...daemonSubs.map((w) => entry(w, "daemon")),
    ...trustedSubs
      .filter((w) => !daemonSubs.some((d) => sameSubstituter(d.word, w.word)))
      .map((w) => entry(w, "trusted")),
    ...userSubs.map((w) => entry(w, "user")),
  ];
  return { entries, trustedKeys, userKeys };
}

export function priorityParam(url: string): number | null {
  const match = /[?&]priority=(\d+)/.exec(url);
  return match ? Number(match[1]) : null;
}

/** The URL without its query (what to fetch). */
export function fetchUrl(url: string): string {
  return url.replace(/\?.*$/, "").replace(/\/+$/, "");
}

/** Keys named after the cache's host: `<host>-N` (how cache.nixos.org, Cachix and FlakeHub name them). */
export function matchingKeys(url: string, keys: readonly PublicKey[]): string[] {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return [];
  }
  if (host === "") return [];
  return keys.filter((k) => k.name === host || k.name.startsWith(`${host}-`)).map((k) => k.name);
}

/** Nix compares substituter URLs with and without a trailing '/' (daemon.cc). */
export function sameSubstituter(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}
