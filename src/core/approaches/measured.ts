// What `crossnix bench` last measured on each builder (bench.jsonl), in the words init's recommendation
// uses: "box: 3.1 benchmark units/s on aarch64-linux (4 at a time), 12 ms SSH round trip, measured 2026-12-02".
import type { BenchRun } from "../bench/results.js";

export interface MeasuredBuilder {
  name: string;
  /** ISO time of the bench run this comes from. */
  at: string;
  /** null: that run could not measure it (reason says why). */
  reason: string | null;
  roundTripMs: number | null;
  systems: { system: string; unitsPerSecond: number; jobs: number; noisy: boolean }[];
}

/** A measurement older than this is named as such: builders change (cores, load, network). */
const STALE_DAYS = 30;

/** The newest bench record of each builder; a later "skipped" never hides an earlier real measurement. */
export function latestMeasurements(runs: BenchRun[]): Map<string, MeasuredBuilder> {
  const latest = new Map<string, MeasuredBuilder>();
  const sorted = [...runs].sort((a, b) => a.at.localeCompare(b.at));
  for (const run of sorted) {
    for (const b of run.builders) {
      const measured = b.status === "measured" && b.systems.length > 0;
      if (!measured && latest.get(b.name)?.reason === null) continue;
      latest.set(b.name, {
        name: b.name,
        at: run.at,
        reason: measured ? null : (b.reason ?? b.status),
        roundTripMs: b.roundTrip ? Math.round(b.roundTrip.median * 1000) : null,
        systems: measured
          ? b.systems.map((s) => ({
              system: s.system,
              unitsPerSecond: s.throughputParallel,
              jobs: s.jobs,
              noisy: s.noisy,
            }))
          : [],
      });
    }
  }
  return latest;
}

/** Builds per second summed over the systems it was measured on: what ranks builders against each other. */
export function totalRate(m: MeasuredBuilder): number {
  return m.systems.reduce((sum, s) => sum + s.unitsPerSecond, 0);
}

export function describeMeasurement(m: MeasuredBuilder, now: Date): string {
  const day = m.at.slice(0, 10);
  const ageDays = (now.getTime() - Date.parse(m.at)) / 86_400_000;
  const stale = ageDays > STALE_DAYS ? " (over a month ago: crossnix bench measures it again)" : "";
  if (m.reason !== null) return `${m.name}: crossnix bench could not measure it on ${day} (${m.reason})`;
  const systems = m.systems.map(
    (s) =>
      `${rate(s.unitsPerSecond)} benchmark units/s on ${s.system} (${s.jobs} at a time${s.noisy ? ", noisy" : ""})`,
  );
  const roundTrip = m.roundTripMs !== null ? `, ${m.roundTripMs} ms SSH round trip` : "";
  return `${m.name}: ${systems.join(", ")}${roundTrip}, measured ${day}${stale}`;
}

function rate(x: number): string {
  return x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2);
}
