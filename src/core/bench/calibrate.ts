// Turns bench measurements into what Nix's own scheduler reads: speed factor, max-jobs, cores, poll interval.
import type { FleetBuilder } from "../builders/fleet.js";
import { type MachinesDialect, speedFactorRefusal } from "../formats/machines/index.js";
import type { BuilderBench, SystemBench } from "./results.js";

/** A proposed value with the measured number that explains it. */
export interface Proposed<T> {
  value: T;
  current: T | null;
  why: string;
}

export interface EntryProposal {
  name: string;
  /** crossnix wrote the entry and may edit it; other entries get a note only. */
  managed: boolean;
  /** The system the figures come from: the entry's first (its native one). */
  system: string;
  speedFactor: Proposed<number>;
  maxJobs: Proposed<number>;
  /** The builder's own `cores`: Nix never sends it, so it is set on the builder (docs/scheduling.md#cores). */
  cores: Proposed<number> | null;
}

export interface Calibration {
  entries: EntryProposal[];
  pollInterval: Proposed<number> | null;
  /** Measured builders that could not be calibrated, with why. */
  left: { name: string; why: string }[];
}

/** Nix's default build-poll-interval, seconds (docs/scheduling.md#poll-interval). */
export const DEFAULT_POLL_INTERVAL = 5;
/**
 * What calibration proposes unless told otherwise: a freed slot waits at most 1 s. 0 (asked for
 * with --poll-interval 0) retries every waiting build on every chunk of build output, at a cost
 * that grows with output × waiting builds (docs/scheduling.md#poll-interval).
 */
export const PROPOSED_POLL_INTERVAL = 1;

/**
 * What 0 costs against 1, measured on the test bed (`BENCH_ONLY=poll`, docs/scheduling.md#poll-interval):
 * the local daemon's CPU for 12 builds on one 2-slot builder.
 */
export const MEASURED_POLL_COST = {
  quiet: "12 × 1 s quiet builds: no more daemon CPU with 0 (1.48 s either way), 8.4 s instead of 13.5 s",
  chatty:
    "12 builds printing 400 lines each: 1.5 s more daemon CPU with 0 (3.48 s against 1.97 s), about 40–70 µs per waiting build per line of output",
};

const fmt = (x: number, digits = 2) => Number(x.toFixed(digits)).toString();

/** The figures calibration reads for a builder: its first system that was measured. */
function primary(b: BuilderBench, entry: FleetBuilder | undefined): SystemBench | undefined {
  const order = entry?.entry.systems ?? [];
  return order.map((s) => b.systems.find((x) => x.system === s)).find(Boolean) ?? b.systems[0];
}

/**
 * Max-jobs where parallel throughput stops rising. `jobs` at a time gave `speedup`× the units per
 * second of one: that many builds really run side by side (a CPU-limited builder stays near 1).
 * But a build also holds its slot while Nix connects and copies (the first-build latency) without
 * using the builder's CPU, so keeping `speedup` builds computing takes `speedup × (latency + unit) /
 * unit` slots. Never above what was measured or the builder's CPUs, whichever is more.
 */
export function proposeMaxJobs(s: SystemBench, cpus: number | null): { value: number; speedup: number; slots: number } {
  const speedup = Math.min(s.jobs, Math.max(1, s.throughputParallel / s.throughputOne));
  const slots = (speedup * (s.latency.median + s.unit.median)) / s.unit.median;
  const cap = Math.max(s.jobs, cpus ?? 1);
  return { value: Math.min(cap, Math.max(1, Math.round(slots))), speedup, slots };
}

/**
 * Speed factors are relative throughput (units per second at the proposed max-jobs), the slowest
 * builder 1, so `load / speedFactor` compares builders by how full they are relative to what they
 * can do. Nix before 2.20 reads the factor as an unsigned integer and divides integers
 * (docs/scheduling.md#integer-division): there the nearest whole number is written.
 */
export function calibrate(
  measured: BuilderBench[],
  fleet: FleetBuilder[],
  nix: { dialect: MachinesDialect; version: string | null },
  pollInterval: number | null,
  /** The build-poll-interval asked for (--poll-interval); null: PROPOSED_POLL_INTERVAL where the current one is longer. */
  wantedPoll: number | null = null,
): Calibration {
  const left: Calibration["left"] = [];
  const rows: { b: BuilderBench; entry: FleetBuilder | undefined; s: SystemBench; jobs: number; capacity: number }[] =
    [];
  for (const b of measured) {
    if (b.status !== "measured") continue;
    const entry = fleet.find((f) => f.name === b.name);
    const s = primary(b, entry);
    if (!s) {
      left.push({ name: b.name, why: "no system was measured" });
      continue;
    }
    const jobs = proposeMaxJobs(s, b.cpus).value;
    rows.push({ b, entry, s, jobs, capacity: Math.max(s.throughputOne, s.throughputParallel) });
  }
  const slowest = Math.min(...rows.map((r) => r.capacity));
  const entries = rows.map(({ b, entry, s, jobs, capacity }): EntryProposal => {
    const { speedup, slots } = proposeMaxJobs(s, b.cpus);
    const ratio = capacity / slowest;
    const fractional = Number(ratio.toFixed(1));
    const refusal = speedFactorRefusal(fractional, nix.dialect, nix.version);
    const factor = refusal ? refusal.nearest : Math.max(1, fractional);
    const slowestName = rows.find((r) => r.capacity === slowest)?.b.name ?? "";
    const throughputText = `${fmt(capacity)} units/s on ${s.system}`;
    const speedWhy =
      ratio === 1
        ? `${throughputText}: the slowest measured builder, so 1`
        : `${throughputText}, ${fmt(ratio)}× ${slowestName}'s ${fmt(slowest)}${refusal ? `; Nix ${nix.version ?? "before 2.20"} divides whole numbers, so ${factor}` : ""}`;
    const stillRising = speedup > s.jobs - 0.5;
    const jobsWhy = `${s.jobs} at a time gave ${fmt(speedup)}× the throughput of one (${fmt(s.throughputOne)} → ${fmt(s.throughputParallel)} units/s), and each build holds its slot ${fmt(s.latency.median)} s for SSH and copies besides ${fmt(s.unit.median)} s of work: ${fmt(speedup)} × ${fmt(s.latency.median + s.unit.median)} / ${fmt(s.unit.median)} = ${fmt(slots, 1)} slots${stillRising ? `; throughput was still rising at ${s.jobs}: measure more with --jobs` : ""}`;
    const cores =
      b.cpus === null
        ? null
        : {
            value: Math.max(1, Math.floor(b.cpus / jobs)),
            current: null,
            why: `${b.cpus} CPUs / ${jobs} job(s): each build may use that many without max-jobs × cores exceeding the CPUs`,
          };
    return {
      name: b.name,
      managed: entry?.managed ?? false,
      system: s.system,
      speedFactor: { value: factor, current: entry?.entry.speedFactor ?? null, why: speedWhy },
      maxJobs: { value: jobs, current: entry?.entry.maxJobs ?? null, why: jobsWhy },
      cores,
    };
  });
  const current = pollInterval ?? DEFAULT_POLL_INTERVAL;
  const fastestUnit = Math.min(...rows.map((r) => r.s.unit.median));
  const value = wantedPoll ?? PROPOSED_POLL_INTERVAL;
  const idle = `a derivation waiting for a slot is retried only every ${current} s; the fastest unit took ${fmt(fastestUnit)} s, so a freed slot can sit idle for up to ${fmt(current / fastestUnit, 1)} units`;
  const why =
    value === 0
      ? `${idle}; with 0 it is retried as soon as any build prints or ends, at a measured cost in the daemon's CPU that grows with output × waiting builds (${MEASURED_POLL_COST.quiet}; ${MEASURED_POLL_COST.chatty}): for batches whose builds print little`
      : `${idle}; ${value} s keeps the retries on a timer: 0 would retry every waiting build on every chunk of output (${MEASURED_POLL_COST.chatty})`;
  const wanted = wantedPoll === null ? current > value : current !== value;
  const poll = rows.length && wanted ? { value, current: pollInterval, why } : null;
  return { entries, pollInterval: poll, left };
}
