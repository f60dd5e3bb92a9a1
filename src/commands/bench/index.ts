// `crossnix bench [builder…]`: measure (and with --calibrate, tune) the fleet; a table or --json.
import { runCalibrate } from "../../app/bench/calibrate.js";
import { runCompare } from "../../app/bench/compare.js";
import { runBench } from "../../app/bench/run.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { makeStyle } from "../../ui/style.js";
import { parseBenchOptions } from "./options.js";
import { renderBench, renderCalibration } from "./render.js";
import { renderCompare } from "./render-compare.js";

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
    const result = await runCalibrate(ctx, input);
    const text = [
      renderBench(result.run, style),
      "",
      renderCalibration(result.calibration),
      ...(result.outcome ? ["", describeOutcome(result.outcome)] : []),
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
