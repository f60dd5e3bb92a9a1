// Text of the build view without a terminal: one timestamped line per state change (append-only,
// for CI logs and pipes), GitHub Actions log groups, and the closing summary of what ran where.
import type { BuildView, Change, DrvState, FetchState } from "../core/build/fleet-state.js";
import { cacheLabel, timingSplit } from "../core/build/fleet-state.js";
import type { Style } from "./style.js";

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, "0")}s`;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** Copy-in, build and copy-out of a finished build, for -v and the summary. */
export function formatSplit(d: DrvState): string {
  const t = timingSplit(d);
  return `copy-in ${formatSeconds(t.copyInMs)}, build ${formatSeconds(t.buildMs)}, copy-out ${formatSeconds(t.copyOutMs)}`;
}

/** Nix messages the state lines already say (a build failed, a dependency failed). */
const SAID_BY_STATE = /^error: (build of '|builder for '|\d+ dependencies of derivation ')/;

export interface LineOptions {
  style: Style;
  verbose: boolean;
  /** -L: interleave build logs, prefixed with derivation and builder. */
  logs: boolean;
}

/** The line for one state change, or null when it is not shown. Timestamps are UTC (HH:MM:SS). */
export function formatChange(change: Change, o: LineOptions): string | null {
  const { style } = o;
  const at = style.dim(clock(change.at));
  switch (change.kind) {
    case "started":
      return `${at} ${style.cyan("▸")} ${change.name} on ${change.builder}`;
    case "waiting":
      return `${at} ${style.dim("…")} ${change.name} waiting for a free builder`;
    case "built": {
      const d = change.build;
      const split = o.verbose ? ` (${formatSplit(d)})` : "";
      return `${at} ${style.green("✓")} ${d.name} on ${d.builder} ${formatSeconds(timingSplit(d).totalMs)}${split}`;
    }
    case "failed":
      return `${at} ${style.red("✗")} ${change.build.name} failed on ${change.build.builder} after ${formatSeconds(timingSplit(change.build).totalMs)}`;
    case "abandoned":
      return change.builder === null
        ? `${at} ${style.yellow("○")} ${change.name} not started: ${change.reason}`
        : `${at} ${style.yellow("○")} ${change.name} not finished on ${change.builder}: ${change.reason}`;
    case "fetching":
      return o.verbose ? `${at} ${style.dim("↓")} ${change.name} fetching from ${cacheLabel(change.from)}` : null;
    case "fetched":
      return `${at} ${style.blue("↓")} ${change.fetch.name} from ${cacheLabel(change.fetch.from)}${change.fetch.bytes ? ` (${formatBytes(change.fetch.bytes)})` : ""}`;
    case "log":
      return o.logs ? `${style.dim(`${change.name}@${change.builder}>`)} ${change.line}` : null;
    case "message":
      if (change.level > 1 && !o.verbose) return null;
      if (SAID_BY_STATE.test(change.text) && !o.verbose) return null;
      return `${at} ${change.text}`;
  }
}

/**
 * GitHub Actions: log lines cannot interleave inside a group, so each derivation's log is held
 * and printed as one collapsed group when it ends (always for a failure, with -L for the rest).
 */
export class ActionsGroups {
  private readonly held = new Map<string, string[]>();

  constructor(private readonly logs: boolean) {}

  /** Lines to print for this change (the group of a derivation that just ended, or nothing). */
  feed(change: Change, line: string | null): string[] {
    if (change.kind === "log") {
      const lines = this.held.get(change.drv) ?? [];
      lines.push(change.line);
      this.held.set(change.drv, lines);
      return [];
    }
    if (change.kind !== "built" && change.kind !== "failed" && change.kind !== "abandoned") return line ? [line] : [];
    const drv = change.kind === "abandoned" ? change.drv : change.build.drv;
    const held = this.held.get(drv) ?? [];
    this.held.delete(drv);
    const show = change.kind === "failed" || this.logs;
    if (!line) return [];
    if (!show || held.length === 0) return [line];
    return [`::group::${line}`, ...held, "::endgroup::"];
  }
}

/** The status line: built / fetched / to go, elapsed, ETA. */
export function formatTotals(view: BuildView): string {
  const t = view.totals;
  const parts = [
    `${t.built} built`,
    ...(t.failed ? [`${t.failed} failed`] : []),
    `${t.fetched} fetched${t.fetchedBytes ? ` (${formatBytes(t.fetchedBytes)})` : ""}`,
    `${t.toGo} to go`,
    formatSeconds(t.elapsedMs),
    ...(t.etaMs !== null && t.toGo > 0 ? [`ETA ${formatSeconds(t.etaMs)}`] : []),
  ];
  return parts.join(" · ");
}

/**
 * The closing summary: what was built where, fetched from which cache (count and bytes), what
 * failed, what never finished, and the wall time.
 */
export function formatSummary(
  result: {
    builds: DrvState[];
    fetched: FetchState[];
    notStarted: { drv: string; reason: string }[];
    seconds: number;
    /** All bytes fetched, when known only as a total. */
    fetchedBytes?: number;
  },
  style: Style,
  verbose: boolean,
): string[] {
  const lines: string[] = [];
  const built = result.builds.filter((b) => b.outcome === "built");
  if (built.length) {
    const per = new Map<string, DrvState[]>();
    for (const b of built) per.set(b.builder, [...(per.get(b.builder) ?? []), b]);
    lines.push(`Built ${built.length}: ${[...per].map(([builder, bs]) => `${bs.length} on ${builder}`).join(", ")}`);
    if (verbose)
      for (const b of built)
        lines.push(`  ${b.name} on ${b.builder}: ${formatSeconds(timingSplit(b).totalMs)} (${formatSplit(b)})`);
  }
  const caches = new Map<string, FetchState[]>();
  for (const f of result.fetched) caches.set(f.from, [...(caches.get(f.from) ?? []), f]);
  for (const [from, fs] of caches) {
    // Without per-path sizes, Nix's announced total belongs to the only cache there is.
    const own = fs.reduce((s, f) => s + f.bytes, 0);
    const bytes = own || (caches.size === 1 ? (result.fetchedBytes ?? 0) : 0);
    lines.push(
      `Fetched ${fs.length} path${fs.length === 1 ? "" : "s"}${bytes ? ` (${formatBytes(bytes)})` : ""} from ${from}`,
    );
  }
  const failed = result.builds.filter((b) => b.outcome === "failed");
  if (failed.length)
    lines.push(style.red(`Failed ${failed.length}: ${failed.map((b) => `${b.name} on ${b.builder}`).join(", ")}`));
  const unfinished = [
    ...result.builds.filter((b) => b.outcome === "abandoned").map((b) => `${b.name} (${b.reason ?? "stopped"})`),
    ...result.notStarted.map((n) => `${n.drv.replace(/^.*\/[a-z0-9]{32}-/, "").replace(/\.drv$/, "")} (${n.reason})`),
  ];
  if (unfinished.length) lines.push(style.yellow(`Not finished ${unfinished.length}: ${unfinished.join(", ")}`));
  if (!built.length && !failed.length && !result.fetched.length && !unfinished.length)
    lines.push("Nothing had to be built.");
  lines.push(`Done in ${result.seconds.toFixed(1)} s.`);
  return lines;
}
