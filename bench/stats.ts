// Shared helpers for the benchmarks: timing, summary statistics and Markdown output.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length };
}

/** Milliseconds as people read them: "87 ms", "1.42 s". */
export function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function fmtRange(s: Summary): string {
  return `${fmtMs(s.min)}–${fmtMs(s.max)}`;
}

/** Wall-clock time of one async call, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/**
 * Runs every variant `n` times, interleaved (A B C, A B C, …) so drift on a noisy machine hits
 * each variant alike, after one untimed warm-up round unless `warmUp` is false. A variant throws when a run did not do the
 * work, so a failed command never counts as a fast one. A variant that resolves to a number has
 * timed itself (leaving its bookkeeping out): that number is its time in ms.
 */
export async function measureInterleaved<K extends string>(
  variants: Record<K, () => Promise<unknown>>,
  n: number,
  log: (line: string) => void = () => {},
  warmUp = true,
): Promise<Record<K, Summary>> {
  const keys = Object.keys(variants) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let round = warmUp ? 0 : 1; round <= n; round++) {
    for (const k of keys) {
      const run = await timed(variants[k]);
      const ms = typeof run.value === "number" ? run.value : run.ms;
      if (round > 0) samples[k].push(ms);
      log(`  ${round === 0 ? "warm-up" : `run ${round}/${n}`} ${k}: ${fmtMs(ms)}`);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(samples[k])])) as Record<K, Summary>;
}

export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A row for a measured variant: what, median, min–max, n, and its ratio to a reference median. */
export function row(label: string, s: Summary, ref?: Summary, refName?: string): string[] {
  return [
    label,
    fmtMs(s.median),
    fmtRange(s),
    String(s.n),
    ref ? `${(s.median / ref.median).toFixed(2)}× ${refName ?? ""}`.trim() : "—",
  ];
}
export const ROW_HEADERS = ["what", "median", "min–max", "n", "ratio"];

export interface Target {
  text: string;
  pass: boolean;
  /** Measured figure and, when missed, what dominates the time. */
  detail: string;
}

export function targetLine(t: Target): string {
  return `- **${t.pass ? "PASS" : "MISS"}** — ${t.text}: ${t.detail}`;
}

/** One benchmark's part of BENCHMARKS.md. */
export interface Section {
  title: string;
  body: string[];
  targets: Target[];
}
