// doctor's binary-cache checks: reachable caches, keys, ignored user settings, netrc, priorities.
import { NIXOS_CACHE_PRIORITY } from "../caches/cache-info.js";
import type { SubstituterView } from "../caches/substituters.js";
import { type Check, check, plural } from "./types.js";

export interface CacheProbe {
  url: string;
  ok: boolean;
  /** Why not, when !ok. */
  why: string | null;
  /** Advertised priority (null: not advertised or not reached). */
  priority: number | null;
  ms: number;
}

export interface CacheFacts {
  view: SubstituterView;
  probes: CacheProbe[];
  /** Whether the person doctor speaks for is trusted by the daemon. */
  trusted: boolean;
  user: string;
  /** Key names crossnix added per cache URL (its records). */
  recordedKeys: Map<string, string[]>;
  netrc: {
    path: string;
    /** null when missing. */
    mode: number | null;
    /** Hosts of caches the daemon uses that have a netrc entry or need one (a crossnix record with netrc). */
    needed: string[];
  };
}

const g = "cache" as const;

export function cacheChecks(f: CacheFacts): Check[] {
  return [reachable(f), keys(f), userSettings(f), netrc(f), priority(f)];
}

const daemonEntries = (f: CacheFacts) => f.view.entries.filter((e) => e.role === "daemon");
const probeOf = (f: CacheFacts, url: string) => f.probes.find((p) => p.url === url);

function reachable(f: CacheFacts): Check {
  const entries = daemonEntries(f);
  if (entries.length === 0) {
    return check("cache.reachable", g, "ok", "Caches", "the daemon uses no binary cache (every path is built)");
  }
  const bad = entries.filter((e) => probeOf(f, e.url)?.ok === false);
  if (bad.length === 0) {
    const seen = entries.map((e) => {
      const p = probeOf(f, e.url);
      return p ? `${e.url} (${Math.round(p.ms)} ms)` : `${e.url} (not checked)`;
    });
    return check("cache.reachable", g, "ok", "Caches", `${plural(entries.length, "cache")} answer: ${seen.join(", ")}`);
  }
  return check(
    "cache.reachable",
    g,
    "warn",
    "Caches",
    bad.map((e) => `${e.url} (${e.source}): ${probeOf(f, e.url)?.why}`).join("; "),
    {
      description: "Nix skips a cache it cannot open and builds what it would have fetched; fix the URL or remove it",
      command: `crossnix cache remove ${bad[0]!.url}`,
    },
  );
}

function keys(f: CacheFacts): Check {
  const entries = daemonEntries(f);
  const missing = entries.filter((e) => e.keys.length === 0 && (f.recordedKeys.get(e.url) ?? []).length === 0);
  if (entries.length === 0) return check("cache.keys", g, "ok", "Keys", "no caches, so no keys needed");
  if (missing.length === 0) {
    return check(
      "cache.keys",
      g,
      "ok",
      "Keys",
      `every cache has a trusted key (${f.view.trustedKeys.map((k) => k.name).join(", ")})`,
    );
  }
  return check(
    "cache.keys",
    g,
    "warn",
    "Keys",
    `no trusted key is named after ${missing.map((e) => e.url).join(", ")}; unless another trusted key signs its paths, Nix refuses them and builds instead`,
    {
      description: "trust the key the cache's owner publishes, where the daemon reads it",
      command: `sudo crossnix cache add ${missing[0]!.url} --key <name:base64>`,
    },
  );
}

function userSettings(f: CacheFacts): Check {
  if (f.trusted) {
    return check(
      "cache.user-settings",
      g,
      "ok",
      "Your cache settings",
      `${f.user} is trusted: the daemon applies them`,
    );
  }
  const ignored = f.view.entries.filter((e) => e.role === "user" && !e.honouredForUntrusted);
  const lines = [
    ...ignored.map((e) => `substituter ${e.url} (${e.source})`),
    ...f.view.userKeys.map((k) => `trusted-public-keys ${k.word} (${k.source})`),
  ];
  if (lines.length === 0) {
    return check("cache.user-settings", g, "ok", "Your cache settings", "none that the daemon ignores");
  }
  const first = ignored[0]?.url;
  return check(
    "cache.user-settings",
    g,
    "warn",
    "Your cache settings",
    `the daemon ignores these for ${f.user}, who it does not trust (silently on Nix ≤ 2.21): ${lines.join("; ")}`,
    {
      description: "put the cache and its key where the daemon reads them, then the daemon restarts",
      command: `sudo crossnix cache add ${first ?? "<url>"} --key <name:base64>`,
    },
  );
}

function netrc(f: CacheFacts): Check {
  const { path, mode, needed } = f.netrc;
  if (!path.startsWith("/")) {
    return check(
      "cache.netrc",
      g,
      "fail",
      "netrc",
      `netrc-file = ${path} is not an absolute path (Nix does not expand ~)`,
      {
        description: "set netrc-file to an absolute path in the daemon's nix.conf",
      },
    );
  }
  if (needed.length === 0) return check("cache.netrc", g, "ok", "netrc", `no cache needs credentials (${path})`);
  if (mode === null) {
    return check("cache.netrc", g, "fail", "netrc", `${path} is missing, but ${needed.join(", ")} need credentials`, {
      description: "add the credentials where the daemon reads them",
      command: "sudo crossnix cache add <url> --netrc-login <login> --netrc-password-file <file>",
    });
  }
  if ((mode & 0o077) !== 0) {
    return check(
      "cache.netrc",
      g,
      "warn",
      "netrc",
      `${path} holds credentials but is mode ${(mode & 0o777).toString(8)}`,
      {
        description: "make it readable by root only",
        command: `sudo chmod 600 ${path}`,
      },
    );
  }
  return check("cache.netrc", g, "ok", "netrc", `${path} (0600) has credentials for ${needed.join(", ")}`);
}

function priority(f: CacheFacts): Check {
  const entries = daemonEntries(f);
  const nixos = entries.find((e) => /^https:\/\/cache\.nixos\.org\/?$/.test(e.url.replace(/\?.*$/, "")));
  if (!nixos) return check("cache.priority", g, "ok", "Priorities", "cache.nixos.org is not among the daemon's caches");
  const ahead = entries.filter((e) => {
    if (e === nixos || e.priorityParam !== null) return false;
    const probe = probeOf(f, e.url);
    return probe?.ok === true && (probe.priority ?? 0) < NIXOS_CACHE_PRIORITY;
  });
  if (ahead.length === 0)
    return check("cache.priority", g, "ok", "Priorities", "no cache outranks cache.nixos.org by accident");
  return check(
    "cache.priority",
    g,
    "warn",
    "Priorities",
    `${ahead.map((e) => `${e.url} (priority ${probeOf(f, e.url)?.priority ?? "not advertised, so 0"})`).join(", ")} ${ahead.length === 1 ? "is" : "are"} asked before cache.nixos.org (40) for every path; caches made by nix copy advertise none`,
    {
      description: "give it a priority after cache.nixos.org in the URL",
      command: `sudo crossnix cache remove ${ahead[0]!.url} && sudo crossnix cache add ${ahead[0]!.url} --priority 50`,
    },
  );
}
