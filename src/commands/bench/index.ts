// `crossnix bench [builder…]`: measure (and with --calibrate, tune) the fleet; a table or --json.
import { checkBuilderName } from "../../core/builders/name.js";
import { badInput } from "../../errors.js";
import { isKnownSystem } from "../../core/nix/systems.js";
import { flagOption, listOption, type RawOptions, stringOption } from "../options.js";
import { runCalibrate } from "../../app/bench/calibrate.js";
import { runCompare } from "../../app/bench/compare.js";
import { runBench } from "../../app/bench/run.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { makeStyle } from "../../ui/style.js";
import { renderBench, renderCalibration } from "./render.js";
import { renderCompare } from "./render-compare.js";

export interface BenchOptions {
  names: string[];
  jobs: number | null;
  runs: number;
  iterations: number | undefined;
  systems: string[];
  calibrate: boolean;
  compare: boolean;
  /** --poll-interval (only with --calibrate): the build-poll-interval to write. */
  pollInterval: number | null;
}

function wholeNumber(field: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badInput(field, text, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function parseBenchOptions(args: string[], raw: RawOptions): BenchOptions {
  const names = args.map((name) => checkBuilderName("builder name", name));
  const calibrate = flagOption(raw, "calibrate");
  const compare = flagOption(raw, "compare");
  if (calibrate && compare) throw badInput("--compare", true, "cannot be combined with --calibrate");
  const systems = listOption(raw, "system");
  for (const system of systems) {
    if (!isKnownSystem(system)) throw badInput("--system", system, "not a Nix system double", "e.g. aarch64-linux");
  }
  const pollInterval = wholeNumber("--poll-interval", stringOption(raw, "pollInterval"), 0, 60) ?? null;
  if (pollInterval !== null && !calibrate)
    throw badInput("--poll-interval", String(pollInterval), "only with --calibrate");
  return {
    names,
    pollInterval,
    systems,
    jobs: wholeNumber("--jobs", stringOption(raw, "jobs"), 1, 256) ?? null,
    runs: wholeNumber("--runs", stringOption(raw, "runs"), 1, 50) ?? 3,
    iterations: wholeNumber("--iterations", stringOption(raw, "iterations"), 1000, 1_000_000_000),
    calibrate,
    compare,
  };
}

const bench: Handler = async (ctx, { args, options }) => {
  const o = parseBenchOptions(args, options);
  const style = makeStyle(ctx.options.color);
  const input = {
    names: o.names,
    jobs: o.jobs,
    runs: o.runs,
    systems: o.systems,
    ...(o.iterations ? { iterations: o.iterations } : {}),
  };
  if (o.compare) {
    const result = await runCompare(ctx, input);
    return {
      json: result,
      text: renderCompare(result, style),
      exitCode: result.rows.length ? 0 : 1,
    };
  }
  if (o.calibrate) {
    const result = await runCalibrate(ctx, input, o.pollInterval);
    const text = [
      renderBench(result.run, style),
      "",
      renderCalibration(result.calibration),
      ...(result.outcome ? ["", describeOutcome(result.outcome)] : []),
      ...result.builders.map((b) => b.message),
    ];
    return {
      json: { ...result, outcome: result.outcome ? { ...result.outcome } : null },
      text: text.join("\n").trimEnd(),
      exitCode: result.calibration.entries.length ? 0 : 1,
    };
  }
  const { run, recordFile } = await runBench(ctx, input);
  const measured = run.builders.some((b) => b.status === "measured");
  const text = [renderBench(run, style), ...(recordFile ? [`Recorded in ${recordFile}.`] : [])].join("\n");
  return { json: { ...run, recordFile }, text, exitCode: measured ? 0 : 1 };
};

export default bench;
