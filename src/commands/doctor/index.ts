import { SYSTEM_PATHS } from "../../host/system/paths.js";
import { checkBuilderName } from "../../core/builders/name.js";
import type { Context, Handler } from "../../context.js";
import { buildersView } from "../../core/doctor/config.js";
import {
  type AutoFix,
  anyFailed,
  autoFixes,
  type Check,
  checkJson,
  fingerprintOfLine,
  planDoctorFixes,
  summarize,
} from "../../core/doctor/index.js";
import type { RenderedPlan } from "../../core/plan/plan.js";
import { runPlan, describeOutcome } from "../../app/plan-runner.js";
import { renderDoctorReport } from "../../ui/doctor-report.js";
import { makeStyle } from "../../ui/style.js";
import { type DoctorOptions, type DoctorReport, runDoctor } from "./run.js";

function render(ctx: Context, report: DoctorReport, fixable: number): string {
  const builderUris = new Map(report.builders.map((b) => [b.builder.name, b.builder.uri]));
  return renderDoctorReport(report.checks, makeStyle(ctx.options.color), {
    verbose: ctx.options.verbose,
    builderUris,
    fixable,
  });
}

function jsonOf(checks: readonly Check[]) {
  return { checks: checks.map(checkJson), summary: summarize(checks) };
}

/**
 * A changed (or never pinned) host key is pinned only when a person, on a terminal, says they
 * checked the new fingerprint: a mismatch may be an impersonation, so `--yes` alone never does it.
 */
async function confirmPins(
  ctx: Context,
  pins: Extract<AutoFix, { kind: "pin-host-key" }>[],
): Promise<{ confirmed: AutoFix[]; notDone: string[] }> {
  const confirmed: AutoFix[] = [];
  const notDone: string[] = [];
  for (const pin of pins) {
    const served = fingerprintOfLine(pin.served);
    const what = pin.pinned
      ? `re-pin the host key of '${pin.builder}' (pinned ${fingerprintOfLine(pin.pinned)}, now serves ${served})`
      : `pin the host key of '${pin.builder}' (${served})`;
    if (ctx.options.dryRun) {
      notDone.push(`would ask you to ${what}`);
      continue;
    }
    if (!ctx.prompt.interactive) {
      notDone.push(
        `did not ${what}: that needs you to confirm the fingerprint on a terminal (--yes alone never pins a host key)`,
      );
      continue;
    }
    process.stderr.write(
      `\nThe builder '${pin.builder}' serves the host key\n  ${served}\n${pin.pinned ? `but the pinned key is\n  ${fingerprintOfLine(pin.pinned)}\nA changed host key can mean someone is impersonating the builder.\n` : "and no key is pinned.\n"}Check the fingerprint on the builder itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on its console).\n`,
    );
    if (await ctx.prompt.confirm(`Does the builder really have ${served}? Pin it?`, false)) confirmed.push(pin);
    else notDone.push(`did not ${what}: not confirmed`);
  }
  return { confirmed, notDone };
}

const doctor: Handler = async (ctx, { options }) => {
  const opts: DoctorOptions = {
    builder: options["builder"] === undefined ? null : checkBuilderName("--builder", String(options["builder"])),
    build: options["build"] !== false,
  };
  const report = await runDoctor(ctx, opts);
  const fixes = autoFixes(report.checks);
  if (options["fix"] !== true) {
    return {
      json: jsonOf(report.checks),
      text: render(ctx, report, fixes.length),
      exitCode: anyFailed(report.checks) ? 1 : 0,
    };
  }

  if (!ctx.options.json) process.stdout.write(`${render(ctx, report, 0)}\n\n`);
  if (fixes.length === 0) {
    const text = anyFailed(report.checks)
      ? "Nothing crossnix can fix by itself: follow the fixes above."
      : "Nothing to fix.";
    return {
      json: { ...jsonOf(report.checks), fix: { plan: null, applied: false, notDone: [] } },
      text,
      exitCode: anyFailed(report.checks) ? 1 : 0,
    };
  }
  const pins = fixes.filter((f): f is Extract<AutoFix, { kind: "pin-host-key" }> => f.kind === "pin-host-key");
  const { confirmed, notDone: unpinned } = await confirmPins(ctx, pins);
  const g = report.gathered;
  // `builders` is rewritten whole (it is not appendable); Nix's default is not carried over.
  const systemView = buildersView(g.config).system;
  const systemBuilders = systemView.baseIsDefault ? null : systemView.value;
  const crossnixMachines = g.machines.get(g.info.machinesFile) ?? { text: null, parsed: null };
  const { plan, notDone } = planDoctorFixes([...fixes.filter((f) => f.kind !== "pin-host-key"), ...confirmed], {
    settings: g.settings,
    machines: { path: g.info.machinesFile, text: crossnixMachines.text, parsed: crossnixMachines.parsed },
    systemBuilders,
    readOnlyReason: g.info.readOnlyReason,
    flavor: g.info.flavor,
    daemonReload: g.daemonReload,
    fleet: g.fleet,
    knownHosts: { path: SYSTEM_PATHS.knownHosts, text: await ctx.host.readText(SYSTEM_PATHS.knownHosts) },
  });
  const skipped = [...unpinned, ...notDone];
  const skippedText = skipped.map((s) => `Not fixed: ${s}.`).join("\n");
  if (plan.files.length === 0 && plan.commands.length === 0 && plan.notes.length === 0) {
    return {
      json: { ...jsonOf(report.checks), fix: { plan: null, applied: false, notDone: skipped } },
      text: skippedText || "Nothing to fix.",
      exitCode: anyFailed(report.checks) ? 1 : 0,
    };
  }
  const outcome = await runPlan(ctx, plan);
  const fixJson = (rendered: RenderedPlan) => ({ plan: rendered, applied: outcome.applied, notDone: skipped });
  if (!outcome.applied) {
    return {
      json: { ...jsonOf(report.checks), fix: fixJson(outcome.plan) },
      text: [describeOutcome(outcome), skippedText].filter(Boolean).join("\n"),
      exitCode: anyFailed(report.checks) ? 1 : 0,
    };
  }
  ctx.progress("Checking again after the fixes…");
  const after = await runDoctor(ctx, opts);
  const text = [
    describeOutcome(outcome),
    skippedText,
    `\n${makeStyle(ctx.options.color).bold("After the fixes:")}`,
    render(ctx, after, 0),
  ]
    .filter(Boolean)
    .join("\n");
  return {
    json: { ...jsonOf(after.checks), checksBefore: report.checks.map(checkJson), fix: fixJson(outcome.plan) },
    text,
    exitCode: anyFailed(after.checks) ? 1 : 0,
  };
};

export default doctor;
