// Human output of `crossnix bench`: the measurement table, what was left out, and the calibration.
import type { Calibration } from "../../core/bench/calibrate.js";
import type { BenchRun, Spread } from "../../core/bench/results.js";
import type { Style } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

const sec = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const spreadText = (s: Spread) => `${sec(s.median)} s (${sec(s.min)}–${sec(s.max)})`;
const rate = (bytesPerSecond: number | null) =>
  bytesPerSecond === null ? "?" : `${(bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s`;

export function renderBench(run: BenchRun, style: Style): string {
  const rows = run.builders.flatMap((b) =>
    b.systems.map((s) => [
      b.name,
      s.system,
      spreadText(s.unit),
      `${s.jobs}`,
      spreadText(s.parallel),
      `${(s.throughputParallel / s.throughputOne).toFixed(2)}×`,
      spreadText(s.latency),
      b.roundTrip ? `${sec(b.roundTrip.median)} s` : "?",
      `${rate(b.upload)} / ${rate(b.download)}`,
    ]),
  );
  const lines: string[] = [];
  if (rows.length) {
    lines.push(
      renderTable(
        ["BUILDER", "SYSTEM", "1 UNIT", "JOBS", "JOBS UNITS", "SPEEDUP", "FIRST BUILD", "SSH", "UP / DOWN"],
        rows,
      ),
    );
    lines.push(
      `A unit is ${run.unitIterations.toLocaleString("en-US")} steps of a shell loop; times are medians (min–max) of ${run.runs} run(s), first-build latency taken off.`,
    );
  }
  for (const b of run.builders) {
    if (b.status === "skipped") lines.push(`${style.yellow("skipped")} ${b.name}: ${b.reason}`);
    if (b.status === "failed") lines.push(`${style.red("failed")} ${b.name}: ${b.reason} (left out)`);
    for (const s of b.systems) {
      if (s.noisy)
        lines.push(
          `${style.yellow("noisy")} ${b.name} ${s.system}: the runs differ by more than 25% of the median; something else was using the machine. Run again with more --runs.`,
        );
    }
  }
  if (!rows.length) lines.push("Nothing was measured.");
  return lines.join("\n");
}

const change = (current: number | null, value: number) =>
  current === value ? `${value}` : `${current ?? "-"} → ${value}`;

export function renderCalibration(c: Calibration): string {
  if (c.entries.length === 0) return "Nothing to calibrate: no builder was measured.";
  const rows = c.entries.map((e) => [
    e.name,
    e.system,
    change(e.speedFactor.current, e.speedFactor.value),
    change(e.maxJobs.current, e.maxJobs.value),
    e.cores ? `${e.cores.value}` : "?",
  ]);
  const why = c.entries.flatMap((e) => [
    `${e.name}: speed factor ${e.speedFactor.value}: ${e.speedFactor.why}`,
    `${e.name}: max-jobs ${e.maxJobs.value}: ${e.maxJobs.why}`,
    ...(e.cores ? [`${e.name}: cores ${e.cores.value} (on the builder): ${e.cores.why}`] : []),
  ]);
  const poll = c.pollInterval
    ? [
        `build-poll-interval ${c.pollInterval.current ?? "5 (default)"} → ${c.pollInterval.value}: ${c.pollInterval.why}`,
      ]
    : [];
  return [
    renderTable(["BUILDER", "SYSTEM", "SPEED FACTOR", "MAX-JOBS", "CORES"], rows),
    ...why,
    ...poll,
    ...c.left.map((l) => `${l.name}: not calibrated: ${l.why}`),
  ].join("\n");
}
