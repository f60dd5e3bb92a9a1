// Build history: the record kept for each derivation built through crossnix, predictions from it
// (median of the last runs per name and builder, as nom does), and the `crossnix builds` report.

/** One line of builds.jsonl: a derivation that crossnix saw build (or fail, or be abandoned). */
export interface BuildHistoryRecord {
  kind: "build";
  v: 1;
  /** ISO time the build ended. */
  at: string;
  /** The `nix build` run it belonged to (same for every record of one run). */
  run: string;
  /** Which crossnix command ran it: build, doctor, bench. */
  via: string;
  name: string;
  drv: string;
  system: string | null;
  builder: string;
  outcome: "built" | "failed" | "abandoned";
  totalMs: number;
  copyInMs: number;
  buildMs: number;
  copyOutMs: number;
  bytesIn: number;
  bytesOut: number;
}

export function isBuildHistoryRecord(value: unknown): value is BuildHistoryRecord {
  if (!value || typeof value !== "object") return false;
  const r = value as Record<string, unknown>;
  return (
    r["kind"] === "build" &&
    typeof r["at"] === "string" &&
    typeof r["name"] === "string" &&
    typeof r["builder"] === "string" &&
    typeof r["totalMs"] === "number" &&
    (r["outcome"] === "built" || r["outcome"] === "failed" || r["outcome"] === "abandoned")
  );
}

/** nom keeps the last 10 builds per (host, name) and predicts their median (Update.hs historyLimit). */
export const HISTORY_LIMIT = 10;

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Predicted milliseconds for a derivation name: the median of its last successful builds on that
 * builder, or on any builder when the builder is not known yet (or has no history of it).
 */
export function makePredictor(records: BuildHistoryRecord[]): (name: string, builder: string | null) => number | null {
  const built = records.filter((r) => r.outcome === "built");
  const last = (rs: BuildHistoryRecord[]) => rs.slice(-HISTORY_LIMIT).map((r) => r.totalMs);
  const byPair = new Map<string, BuildHistoryRecord[]>();
  const byName = new Map<string, BuildHistoryRecord[]>();
  for (const r of built) {
    const pair = `${r.name}\0${r.builder}`;
    byPair.set(pair, [...(byPair.get(pair) ?? []), r]);
    byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  }
  return (name, builder) => {
    const own = builder === null ? undefined : byPair.get(`${name}\0${builder}`);
    return median(last(own ?? byName.get(name) ?? []));
  };
}

export interface BuildsReport {
  since: string | null;
  builder: string | null;
  /** Span the records cover (first start to last end), for utilization. */
  spanMs: number;
  /** Builds by what ran them: `crossnix build`, doctor's end-to-end build, bench; most first. */
  origins: { via: string; builds: number }[];
  builders: {
    name: string;
    builds: number;
    succeeded: number;
    failed: number;
    abandoned: number;
    /** Share of succeeded among builds that finished (built or failed), null with none. */
    successRate: number | null;
    busyMs: number;
    /** busyMs over the span of the runs that used this builder, null with none. */
    utilization: number | null;
  }[];
  slowest: {
    name: string;
    builder: string;
    medianMs: number;
    runs: number;
    /** "slower", "faster" or "steady": the last run against the median of the ones before it. */
    trend: "slower" | "faster" | "steady" | null;
    lastMs: number;
  }[];
}

/** Trend of a series: the last value against the median of the earlier ones (±15 % counts as steady). */
export function trendOf(values: number[]): "slower" | "faster" | "steady" | null {
  if (values.length < 2) return null;
  const before = median(values.slice(0, -1))!;
  const last = values.at(-1)!;
  if (last > before * 1.15) return "slower";
  if (last < before * 0.85) return "faster";
  return "steady";
}

/** Run spans: for each run id, its first start and last end (ms since epoch). */
function runSpans(records: BuildHistoryRecord[]): Map<string, { from: number; to: number }> {
  const spans = new Map<string, { from: number; to: number }>();
  for (const r of records) {
    const to = Date.parse(r.at);
    const from = to - r.totalMs;
    const s = spans.get(r.run);
    spans.set(r.run, s ? { from: Math.min(s.from, from), to: Math.max(s.to, to) } : { from, to });
  }
  return spans;
}

/**
 * Per builder: builds, success rate, time busy and utilization (busy time over the wall time of the
 * runs it took part in, so 100 % per slot); the slowest derivations by median with their trend.
 */
export function buildsReport(
  all: BuildHistoryRecord[],
  filter: { sinceMs: number | null; builder: string | null },
  top = 10,
): BuildsReport {
  const records = all.filter(
    (r) =>
      (filter.sinceMs === null || Date.parse(r.at) >= filter.sinceMs) &&
      (filter.builder === null || r.builder === filter.builder),
  );
  const spans = runSpans(records);
  const names = [...new Set(records.map((r) => r.builder))].sort();
  const builders = names.map((name) => {
    const mine = records.filter((r) => r.builder === name);
    const succeeded = mine.filter((r) => r.outcome === "built").length;
    const failed = mine.filter((r) => r.outcome === "failed").length;
    const busyMs = mine.reduce((s, r) => s + r.totalMs, 0);
    const wall = [...new Set(mine.map((r) => r.run))].reduce((s, run) => {
      const span = spans.get(run)!;
      return s + (span.to - span.from);
    }, 0);
    return {
      name,
      builds: mine.length,
      succeeded,
      failed,
      abandoned: mine.length - succeeded - failed,
      successRate: succeeded + failed ? succeeded / (succeeded + failed) : null,
      busyMs,
      utilization: wall > 0 ? busyMs / wall : null,
    };
  });
  const groups = new Map<string, BuildHistoryRecord[]>();
  for (const r of records.filter((x) => x.outcome === "built")) {
    const key = `${r.name}\0${r.builder}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const slowest = [...groups.values()]
    .map((rs) => {
      const times = rs.map((r) => r.totalMs);
      return {
        name: rs[0]!.name,
        builder: rs[0]!.builder,
        medianMs: median(times.slice(-HISTORY_LIMIT))!,
        runs: rs.length,
        trend: trendOf(times.slice(-HISTORY_LIMIT)),
        lastMs: times.at(-1)!,
      };
    })
    .sort((a, b) => b.medianMs - a.medianMs)
    .slice(0, top);
  const from = Math.min(...[...spans.values()].map((s) => s.from));
  const to = Math.max(...[...spans.values()].map((s) => s.to));
  return {
    since: filter.sinceMs === null ? null : new Date(filter.sinceMs).toISOString(),
    builder: filter.builder,
    spanMs: spans.size ? to - from : 0,
    origins: originsOf(records),
    builders,
    slowest,
  };
}

function originsOf(records: BuildHistoryRecord[]): BuildsReport["origins"] {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.via, (counts.get(r.via) ?? 0) + 1);
  return [...counts]
    .map(([via, builds]) => ({ via, builds }))
    .sort((a, b) => b.builds - a.builds || a.via.localeCompare(b.via));
}

/**
 * `--since`: an ISO date/time, or a duration back from now (`30m`, `12h`, `7d`, `2w`).
 * Returns ms since epoch, or null when the text is neither.
 */
export function parseSince(text: string, nowMs: number): number | null {
  const m = /^(\d+)\s*(m|h|d|w)$/.exec(text.trim());
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "m" | "h" | "d" | "w"];
    return nowMs - Number(m[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}
