// What `crossnix bench` measured, as stored in bench.jsonl and shown: spreads, per builder and system.

/** Median with the spread around it; `n` samples. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function spread(samples: number[]): Spread {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s.at(-1)!, n: s.length };
}

/** (max − min) / median above this calls a measurement noisy: another load shared the machine. */
export const NOISY_SPREAD = 0.25;

export function isNoisy(s: Spread): boolean {
  return s.n > 1 && s.median > 0 && (s.max - s.min) / s.median > NOISY_SPREAD;
}

/** One system on one builder: the benchmark derivation one at a time, then `jobs` at a time. */
export interface SystemBench {
  system: string;
  /** How many derivations ran at once in the parallel round (the entry's slots, or --jobs). */
  jobs: number;
  /** Wall time of a build that does no work: SSH, hook, copies (first-build latency), seconds. */
  latency: Spread;
  /** Wall time of one unit minus the median latency: the builder's time per unit, seconds. */
  unit: Spread;
  /** Wall time of `jobs` units at once minus the median latency, seconds. */
  parallel: Spread;
  /** Units per second one at a time, and `jobs` at a time (from the medians). */
  throughputOne: number;
  throughputParallel: number;
  noisy: boolean;
}

export interface BuilderBench {
  name: string;
  /** measured; skipped (disabled, failing connect checks, not SSH); failed (vanished mid-bench). */
  status: "measured" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  reason: string | null;
  cpus: number | null;
  nixVersion: string | null;
  /** `ssh … exit 0` as the daemon connects, seconds. */
  roundTrip: Spread | null;
  /** Bytes per second through the daemon's SSH connection, each way. */
  upload: number | null;
  download: number | null;
  systems: SystemBench[];
}

export interface BenchRun {
  kind: "bench";
  version: 1;
  /** ISO time the run started. */
  at: string;
  /** Loop iterations in one unit. */
  unitIterations: number;
  runs: number;
  builders: BuilderBench[];
}

export function isBenchRun(value: unknown): value is BenchRun {
  const v = value as Partial<BenchRun> | null;
  return typeof v === "object" && v !== null && v.kind === "bench" && v.version === 1 && Array.isArray(v.builders);
}

/** The parts of one system's measurement, from raw wall times in seconds. */
export function systemBench(
  system: string,
  jobs: number,
  raw: { latency: number[]; one: number[]; parallel: number[] },
): SystemBench {
  const latency = spread(raw.latency);
  const net = (xs: number[]) => xs.map((x) => Math.max(0.001, x - latency.median));
  const unit = spread(net(raw.one));
  const parallel = spread(net(raw.parallel));
  return {
    system,
    jobs,
    latency,
    unit,
    parallel,
    throughputOne: 1 / unit.median,
    throughputParallel: jobs / parallel.median,
    noisy: isNoisy(unit) || isNoisy(parallel),
  };
}
