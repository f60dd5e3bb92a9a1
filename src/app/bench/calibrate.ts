// `crossnix bench --calibrate`: measure, then set what Nix's scheduler reads, through the plan runner.
import type { Context } from "../../context.js";
import type { BenchRun } from "../../core/bench/results.js";
import { type Calibration, calibrate } from "../../core/bench/calibrate.js";
import { planCalibration } from "../../core/bench/plan.js";
import { effectiveSetting } from "../../core/nix/settings.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";
import { loadConfigState } from "../../host/state.js";
import { setSetting } from "../../core/formats/nix-conf.js";
import { CrossnixError } from "../../errors.js";
import { type PlanOutcome, runPlans } from "../plan-runner.js";
import { planRemoteNixConf, type RemoteConfPlan } from "../builders/remote-conf.js";
import { type BenchInput, runBench } from "./run.js";

export interface CalibrateResult {
  run: BenchRun;
  recordFile: string | null;
  calibration: Calibration;
  /** null when nothing was measured, so nothing was planned. */
  outcome: PlanOutcome | null;
  /** `cores` in each builder's own nix.conf: what was done there, or why not. */
  builders: CoresResult[];
}

export interface CoresResult {
  builder: string;
  cores: number;
  status: "changed" | "unchanged" | "managed" | "dry-run" | "failed" | "not-applied";
  message: string;
}

export async function runCalibrate(
  ctx: Pick<Context, "host" | "options" | "progress" | "warn" | "prompt" | "out">,
  input: BenchInput,
  /** --poll-interval: the build-poll-interval asked for; null lets calibration propose. */
  wantedPoll: number | null = null,
): Promise<CalibrateResult> {
  const { run, recordFile } = await runBench(ctx, input);
  const plan = async (coresPlanned: ReadonlySet<string>) => {
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
        coresPlanned,
      },
      calibration,
    );
    return { calibration, plan: made };
  };
  const first = await plan(new Set());
  if (first.calibration.entries.length === 0) {
    return { run, recordFile, calibration: first.calibration, outcome: null, builders: [] };
  }
  // `cores` is the builder's own setting (docs/scheduling.md#cores): a plan per builder crossnix
  // manages, written there through the person's SSH login and sudo, as `cache add --on-builders` does.
  const state = await loadConfigState(ctx.host);
  const remote: { plan: RemoteConfPlan; cores: number }[] = [];
  for (const p of first.calibration.entries) {
    const b = state.fleet.find((f) => f.name === p.name);
    if (!p.cores || !b?.managed || !b.enabled || b.protocol === "other") continue;
    const cores = p.cores.value;
    remote.push({
      cores,
      plan: await planRemoteNixConf(ctx, b, {
        title: `Set cores = ${cores} on builder ${b.name}`,
        reason: p.cores.why,
        what: "the new cores",
        managedHint: `set nix.settings.cores = ${cores}`,
        unchanged: `already has cores = ${cores}`,
        edit: (conf) => setSetting(conf, "cores", String(cores), "crossnix bench --calibrate: CPUs each build may use"),
      }),
    });
  }
  const planned = new Set(remote.map((r) => r.plan.builder));
  const local = planned.size ? await plan(planned) : first;
  // This machine's plan first; then each builder's own, so a builder that refuses (no sudo, gone)
  // is reported with why and the calibration already applied here stands.
  const [outcome] = await runPlans(ctx, [{ plan: local.plan, replan: async () => (await plan(planned)).plan }]);
  const builders: CoresResult[] = [];
  for (const r of remote) {
    const p = r.plan;
    if (p.kind === "result") {
      builders.push({ builder: p.builder, cores: r.cores, status: p.status, message: p.message });
      continue;
    }
    let applied = false;
    try {
      applied = (await runPlans(ctx, [p.step]))[0]?.applied === true;
    } catch (error) {
      const why = error instanceof CrossnixError && error.hint ? `${error.message} (${error.hint})` : String(error);
      builders.push({
        builder: p.builder,
        cores: r.cores,
        status: "failed",
        message: `${p.builder}: cores = ${r.cores} not written: ${why.replace(/^Error: /, "")}`,
      });
      continue;
    }
    const restarted = p.restarts ? "and restarted its Nix daemon" : `(${p.note ?? "no daemon restarted"})`;
    builders.push({
      builder: p.builder,
      cores: r.cores,
      status: applied ? "changed" : ctx.options.dryRun ? "dry-run" : "not-applied",
      message: applied
        ? `${p.builder}: set cores = ${r.cores} ${restarted}`
        : `${p.builder}: cores = ${r.cores} not written${ctx.options.dryRun ? " (dry run)" : ""}`,
    });
  }
  return { run, recordFile, calibration: local.calibration, outcome: outcome ?? null, builders };
}
