/**
 * `crossnix doctor`: every check is a pure function from gathered facts (host/doctor) to a
 * `Check`. Ids are stable: users, scripts and tests refer to them.
 */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";
export type CheckGroup = "local" | "configuration" | "cache" | "builder" | "end-to-end";

/**
 * Every check doctor can report, in report order (within a group, the order a report lists
 * them; a builder's checks in the order a connection needs them, `builder.enabled` standing in
 * for all of them when the builder is disabled). The ids are a public contract (`--json`, scripts,
 * the README): add ids, never rename one.
 */
export const CHECKS = {
  "nix.installed": { group: "local", summary: "Nix is installed and its version" },
  "nix.daemon": { group: "local", summary: "the Nix daemon answers" },
  "nix.daemon-ssh": { group: "local", summary: "ssh is on the PATH of whoever runs builds (the daemon)" },
  "nix.flavor": { group: "local", summary: "the installation: Determinate, upstream or nix-darwin-managed" },
  "local.root": { group: "local", summary: "doctor runs as the user the daemon connects as (root)" },
  "config.nix-conf": { group: "configuration", summary: "every nix.conf and include is readable and valid" },
  "config.builders": { group: "configuration", summary: "the effective builders setting and its source" },
  "config.machines-file": { group: "configuration", summary: "the machines files builders reads are valid" },
  "config.max-jobs-zero": { group: "configuration", summary: "max-jobs = 0 with no working builder" },
  "config.legacy-remote-systems": { group: "configuration", summary: "the legacy NIX_REMOTE_SYSTEMS" },
  "config.user-machines-file": { group: "configuration", summary: "a ~/.config/nix/machines Nix never reads" },
  "config.extra-builders": { group: "configuration", summary: "extra-builders, which Nix ignores" },
  "config.client-builders-untrusted": {
    group: "configuration",
    summary: "builders set by a user the daemon does not trust (ignored)",
  },
  "config.builders-use-substitutes": { group: "configuration", summary: "builders-use-substitutes" },
  "config.daemon-stale": { group: "configuration", summary: "settings changed since the daemon started" },
  "config.vm": { group: "configuration", summary: "a VM crossnix made is running on its pinned port" },
  "config.emulation": {
    group: "configuration",
    summary: "every emulated system in extra-platforms has a working interpreter (and none on macOS)",
  },
  "cache.reachable": { group: "cache", summary: "each cache the daemon uses answers and is a binary cache" },
  "cache.keys": { group: "cache", summary: "a trusted key for every cache the daemon uses" },
  "cache.user-settings": {
    group: "cache",
    summary: "cache settings in a user's files that the daemon ignores for an untrusted user",
  },
  "cache.netrc": { group: "cache", summary: "the netrc the daemon reads: absolute, present, private" },
  "cache.priority": { group: "cache", summary: "a cache that outranks cache.nixos.org by accident" },
  "builder.connect": { group: "builder", summary: "name resolution, TCP and the SSH banner" },
  "builder.connect-timeout": { group: "builder", summary: "ConnectTimeout, so a hung builder is not waited on" },
  "builder.host-key": { group: "builder", summary: "the pinned host key against the one served" },
  "builder.identity": { group: "builder", summary: "the key file the daemon uses (0600, root, no passphrase)" },
  "builder.auth": { group: "builder", summary: "login" },
  "builder.remote-program": { group: "builder", summary: "the remote program on the non-interactive PATH" },
  "builder.login-shell": { group: "builder", summary: "a login shell that prints nothing" },
  "builder.trust": { group: "builder", summary: "the builder's daemon trusts the SSH user" },
  "builder.systems": { group: "builder", summary: "the builder's systems against its entry" },
  "builder.features": { group: "builder", summary: "the builder's features against its entry" },
  "builder.disk": { group: "builder", summary: "free disk on the builder" },
  "builder.nix-version": { group: "builder", summary: "the Nix versions on both ends" },
  "builder.enabled": { group: "builder", summary: "a disabled builder (its checks are not run)" },
  "e2e.build": { group: "end-to-end", summary: "a tiny derivation built on one builder, for one system" },
} as const satisfies Record<string, { group: CheckGroup; summary: string }>;

export type CheckId = keyof typeof CHECKS;

/** The ids of one group, in report order. */
export function checkIds(group: CheckGroup): CheckId[] {
  return (Object.keys(CHECKS) as CheckId[]).filter((id) => CHECKS[id].group === group);
}

/** A fix crossnix can apply itself with `doctor --fix` (always as one plan, see fixes.ts). */
export type AutoFix =
  /** Set a nix.conf setting in the file crossnix writes settings to. */
  | { kind: "set-setting"; name: string; value: string; comment: string }
  /** Make `builders` (as the daemon reads it) include crossnix's machines file. */
  | { kind: "builders-include" }
  /** Put `?remote-program=<program>` on a crossnix entry's store URI. */
  | { kind: "remote-program"; builder: string; program: string }
  /** Restart the Nix daemon so it re-reads nix.conf (it reads it only at start-up). */
  | { kind: "restart-daemon" }
  /**
   * Pin the key the builder serves now (machines column 8). Never applied without a person
   * confirming the fingerprint interactively: a changed key may be an impersonation.
   */
  | { kind: "pin-host-key"; builder: string; pinned: string | null; served: string }
  /**
   * Comment out the guide's system-first lines in crossnix's machines file, so Nix reads the rest of
   * it again; the destinations they name become builders only through `migrate --from manual`.
   */
  | { kind: "comment-guide-lines"; lines: number[]; destinations: string[] };

export interface CheckFix {
  /** What to do, in a sentence. */
  description: string;
  /** A command that does it, when there is one. */
  command?: string;
  auto?: AutoFix;
}

export interface Check {
  id: CheckId;
  group: CheckGroup;
  /** The builder a builder or end-to-end check is about (its crossnix name, or the entry's host). */
  builder?: string;
  /** The system an end-to-end build was for. */
  system?: string;
  status: CheckStatus;
  /** Short human name, e.g. "Host key". */
  title: string;
  /** What was seen, one or two sentences. */
  observed: string;
  fix?: CheckFix;
}

export function check(
  id: CheckId,
  group: CheckGroup,
  status: CheckStatus,
  title: string,
  observed: string,
  fix?: CheckFix,
  extra: { builder?: string; system?: string } = {},
): Check {
  return { id, group, ...extra, status, title, observed, ...(fix ? { fix } : {}) };
}

export interface CheckSummary {
  ok: number;
  warn: number;
  fail: number;
  skip: number;
}

export function summarize(checks: readonly Check[]): CheckSummary {
  const summary: CheckSummary = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return summary;
}

export function anyFailed(checks: readonly Check[]): boolean {
  return checks.some((c) => c.status === "fail");
}

/** The shape `--json` promises: `{ checks: [ { id, builder?, status, observed, fix } ] }`. */
export function checkJson(c: Check) {
  return {
    id: c.id,
    group: c.group,
    ...(c.builder !== undefined ? { builder: c.builder } : {}),
    ...(c.system !== undefined ? { system: c.system } : {}),
    status: c.status,
    title: c.title,
    observed: c.observed,
    fix: c.fix
      ? {
          description: c.fix.description,
          ...(c.fix.command ? { command: c.fix.command } : {}),
          ...(c.fix.auto ? { auto: c.fix.auto.kind } : {}),
        }
      : null,
  };
}

const GIB = 2 ** 30;

export function formatBytes(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
