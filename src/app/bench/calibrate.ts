// `crossnix bench --calibrate`: measure, then set what Nix's scheduler reads, through the plan runner.
import type { Context } from "../../context.js";
import type { BenchRun } from "../../core/bench/results.js";
import { type Calibration, calibrate } from "../../core/bench/calibrate.js";
import { planCalibration } from "../../core/bench/plan.js";
import { effectiveSetting } from "../../core/nix/settings.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";
import { loadConfigState } from "../../host/state.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import { type BenchInput, runBench } from "./run.js";

export interface CalibrateResult {
  run: BenchRun;
  recordFile: string | null;
  calibration: Calibration;
  /** null when nothing was measured, so nothing was planned. */
  outcome: PlanOutcome | null;
}

export async function runCalibrate(
  ctx: Pick<Context, "host" | "options" | "progress" | "warn" | "prompt" | "out">,
  input: BenchInput,
  /** --poll-interval: the build-poll-interval asked for; null lets calibration propose. */
  wantedPoll: number | null = null,
): Promise<CalibrateResult> {
  const { run, recordFile } = await runBench(ctx, input);
  const plan = async () => {
    const state = await loadConfigState(ctx.host);
    const poll = effectiveSetting("build-poll-interval", state.systemLayers).value;
    const calibration = calibrate(
      run.builders,
      state.fleet,
      { dialect: state.dialect, version: state.info.nix.version?.nix ?? null },
      poll === null ? null : Number(poll),
      wantedPoll,
    );
    const made = planCalibration(
      {
        machines: state.machines,
        settings: state.settings,
        systemLayers: state.systemLayers,
        readOnlyReason: state.info.readOnlyReason,
        daemonReload: await daemonRestartCommand(ctx.host, state.info),
      },
      calibration,
    );
    return { calibration, plan: made };
  };
  const first = await plan();
  if (first.calibration.entries.length === 0) {
    return { run, recordFile, calibration: first.calibration, outcome: null };
  }
  const outcome = await runPlan(ctx, first.plan, { replan: async () => (await plan()).plan });
  return { run, recordFile, calibration: first.calibration, outcome };
}
