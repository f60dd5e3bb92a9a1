// `cache add`'s argument and flags, validated into what to write (bad input exits 2, nothing written).
import { badInput } from "../../errors.js";
import { publicKeyProblem, type PublicKey, parsePublicKey } from "./keys.js";
import { cachixKeyName, cachixNameProblem, KNOWN_CACHES } from "./known.js";

export interface CacheAddFlags {
  key?: string[];
  priority?: string;
  optional?: boolean;
  netrcHost?: string;
  netrcLogin?: string;
  netrcPasswordFile?: string;
  verifyKey?: boolean;
  probePath?: string;
  onBuilders?: boolean;
}

export interface CacheRequest {
  /** What the person typed (a URL, `cachix:NAME` or a known name). */
  given: string;
  /** The substituter as written into nix.conf (with `?priority=N` when asked). */
  url: string;
  /** The URL without crossnix's `priority` parameter, for fetching. */
  baseUrl: string;
  scheme: "http" | "https" | "file" | "s3" | "ssh" | "ssh-ng";
  keys: PublicKey[];
  /** Keys came from crossnix's table of known caches (not typed). */
  knownKeys: boolean;
  optional: boolean;
  netrc: { host: string; login: string; passwordFile: string } | null;
  verifyKey: boolean;
  needsAuth: boolean;
  probePath: string | null;
  /** Also configure every crossnix builder (through the person's SSH login and sudo there). */
  onBuilders: boolean;
}

const SCHEMES = ["http", "https", "file", "s3", "ssh", "ssh-ng"] as const;

/** Resolves a name or URL and checks every flag before anything is fetched. */
export function parseCacheRequest(given: string, flags: CacheAddFlags): CacheRequest {
  const known = KNOWN_CACHES.find((c) => c.name === given);
  let baseUrl: string;
  let keys = (flags.key ?? []).map((k) => {
    const problem = publicKeyProblem(k);
    if (problem) throw badInput("--key", k, problem);
    return parsePublicKey(k)!;
  });
  let knownKeys = false;
  if (known) {
    baseUrl = known.url;
    if (keys.length === 0) {
      keys = known.keys.map((k) => parsePublicKey(k)!);
      knownKeys = true;
    }
  } else if (given.startsWith("cachix:")) {
    const name = given.slice("cachix:".length);
    const problem = cachixNameProblem(name);
    if (problem) throw badInput("cache", given, problem, "e.g. cachix:nix-community");
    baseUrl = `https://${name}.cachix.org`;
    const community = KNOWN_CACHES.find((c) => c.url === baseUrl);
    if (keys.length === 0 && community) {
      keys = community.keys.map((k) => parsePublicKey(k)!);
      knownKeys = true;
    }
    if (keys.length === 0) {
      throw badInput(
        "cache",
        given,
        `a Cachix cache needs its public key: --key ${cachixKeyName(name)}:<base64>`,
        `the cache's page on https://app.cachix.org shows it`,
      );
    }
  } else {
    baseUrl = normaliseUrl(given);
  }
  const parsed = new URL(baseUrl);
  const scheme = parsed.protocol.slice(0, -1) as CacheRequest["scheme"];
  for (const key of keys) checkKeyName(given, parsed, key);
  const url = withPriority(baseUrl, flags.priority);
  const netrc = netrcRequest(parsed, flags);
  return {
    given,
    url,
    baseUrl,
    scheme,
    keys,
    knownKeys,
    optional: flags.optional ?? false,
    netrc,
    verifyKey: flags.verifyKey ?? true,
    needsAuth: known?.needsAuth ?? false,
    probePath: flags.probePath ?? null,
    onBuilders: flags.onBuilders ?? false,
  };
}

/** A substituter URL Nix can use, without a trailing '/' (Nix compares both forms). */
export function normaliseUrl(given: string): string {
  if (/[\s#]/.test(given)) throw badInput("cache URL", given, "a nix.conf value has no spaces and no '#'");
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw badInput(
      "cache",
      given,
      "not a URL, 'cachix:NAME' or a known cache",
      `known caches: ${KNOWN_CACHES.map((c) => c.name).join(", ")}; or a URL such as https://cache.example.org`,
    );
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw badInput("cache URL", given, `Nix reads binary caches over ${SCHEMES.join(", ")}, not ${scheme}`);
  }
  if ((scheme === "http" || scheme === "https" || scheme === "s3") && parsed.hostname === "") {
    throw badInput("cache URL", given, "the URL has no host");
  }
  if (scheme === "file" && (parsed.host !== "" || parsed.pathname === "/")) {
    throw badInput("cache URL", given, "a file:// cache is file:///absolute/directory");
  }
  return given.replace(/\/+$/, "");
}

function withPriority(url: string, priority: string | undefined): string {
  if (priority === undefined) return url;
  if (!/^\d{1,6}$/.test(priority))
    throw badInput("--priority", priority, "a whole number, lower wins (cache.nixos.org is 40)");
  if (/[?&]priority=/.test(url)) throw badInput("--priority", priority, "the URL already sets priority=");
  return `${url}${url.includes("?") ? "&" : "?"}priority=${Number(priority)}`;
}

/**
 * A cache whose signing-key names are fixed by its host (cache.nixos.org-N, NAME.cachix.org-N,
 * cache.flakehub.com-N) refuses a key of another name: Nix would never find it on a signature.
 */
function checkKeyName(given: string, url: URL, key: PublicKey): void {
  const host = url.hostname;
  const fixed = host.endsWith(".cachix.org") || KNOWN_CACHES.some((c) => new URL(c.url).hostname === host);
  if (!fixed || key.name.startsWith(`${host}-`)) return;
  const expected = host.endsWith(".cachix.org") ? cachixKeyName(host.slice(0, -".cachix.org".length)) : `${host}-N`;
  throw badInput("--key", key.text, `${given} signs with keys named ${expected}, not ${key.name}`);
}

function netrcRequest(url: URL, flags: CacheAddFlags): CacheRequest["netrc"] {
  const { netrcHost, netrcLogin, netrcPasswordFile } = flags;
  if (netrcHost === undefined && netrcLogin === undefined && netrcPasswordFile === undefined) return null;
  if (netrcLogin === undefined || netrcPasswordFile === undefined) {
    throw badInput(
      "netrc options",
      [netrcHost, netrcLogin, netrcPasswordFile].filter(Boolean).join(" "),
      "--netrc-login and --netrc-password-file go together",
      "the password is read from a file so it never appears in your shell history or in ps",
    );
  }
  const host = netrcHost ?? url.hostname;
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw badInput("--netrc-host", host, "a host name");
  if (!/^\S+$/.test(netrcLogin)) throw badInput("--netrc-login", netrcLogin, "a login without spaces");
  if (!netrcPasswordFile.startsWith("/")) {
    throw badInput("--netrc-password-file", netrcPasswordFile, "an absolute path to a file holding the password");
  }
  return { host, login: netrcLogin, passwordFile: netrcPasswordFile };
}
