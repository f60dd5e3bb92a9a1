/**
 * `crossnix doctor`: every check is a pure function from gathered facts (host/doctor) to a
 * `Check`. Ids are stable: users, scripts and tests refer to them.
 */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";
export type CheckGroup = "local" | "configuration" | "builder" | "end-to-end";

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
  | { kind: "pin-host-key"; builder: string; pinned: string | null; served: string };

export interface CheckFix {
  /** What to do, in a sentence. */
  description: string;
  /** A command that does it, when there is one. */
  command?: string;
  auto?: AutoFix;
}

export interface Check {
  id: string;
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
  id: string,
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
