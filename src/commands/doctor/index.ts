// `crossnix doctor`: parses options, runs the checks, prints the report, applies `--fix` when asked.
import { type DoctorReport, planDoctorFix, runDoctor } from "../../app/doctor.js";
import { describeOutcome, runPlan } from "../../app/plan-runner.js";
import type { Context, Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";
import {
  type AutoFix,
  anyFailed,
  autoFixes,
  type Check,
  checkJson,
  fingerprintOfLine,
  summarize,
} from "../../core/doctor/index.js";
import type { RenderedPlan } from "../../core/plan/plan.js";
import { renderDoctorReport } from "../../ui/doctor-report.js";
import { makeStyle } from "../../ui/style.js";
import { flagOption, negatableOption, type RawOptions, stringOption } from "../options.js";

export interface DoctorOptions {
  /** --builder: check only this builder. */
  builder: string | null;
  /** false with --no-build. */
  build: boolean;
  /** --fix: apply the safe fixes as one plan. */
  fix: boolean;
}

export function parseDoctorOptions(raw: RawOptions): DoctorOptions {
  const builder = stringOption(raw, "builder");
  return {
    builder: builder === undefined ? null : checkBuilderName("--builder", builder),
    build: negatableOption(raw, "build"),
    fix: flagOption(raw, "fix"),
  };
}

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
    ctx.warn(
      `\nThe builder '${pin.builder}' serves the host key\n  ${served}\n${pin.pinned ? `but the pinned key is\n  ${fingerprintOfLine(pin.pinned)}\nA changed host key can mean someone is impersonating the builder.\n` : "and no key is pinned.\n"}Check the fingerprint on the builder itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on its console).`,
    );
    if (await ctx.prompt.confirm(`Does the builder really have ${served}? Pin it?`, false)) confirmed.push(pin);
    else notDone.push(`did not ${what}: not confirmed`);
  }
  return { confirmed, notDone };
}

const doctor: Handler = async (ctx, { options: raw }) => {
  const options = parseDoctorOptions(raw);
  const input = { builder: options.builder, build: options.build, timeoutSeconds: ctx.options.timeout };
  const report = await runDoctor(ctx, input);
  const fixes = autoFixes(report.checks);
  const exitCode = (checks: readonly Check[]) => (anyFailed(checks) ? 1 : 0);
  if (!options.fix) {
    return { json: jsonOf(report.checks), text: render(ctx, report, fixes.length), exitCode: exitCode(report.checks) };
  }

  ctx.out(`${render(ctx, report, 0)}\n\n`);
  if (fixes.length === 0) {
    const text = anyFailed(report.checks)
      ? "Nothing crossnix can fix by itself: follow the fixes above."
      : "Nothing to fix.";
    return {
      json: { ...jsonOf(report.checks), fix: { plan: null, applied: false, notDone: [] } },
      text,
      exitCode: exitCode(report.checks),
    };
  }
  const pins = fixes.filter((f): f is Extract<AutoFix, { kind: "pin-host-key" }> => f.kind === "pin-host-key");
  const { confirmed, notDone: unpinned } = await confirmPins(ctx, pins);
  const { plan, notDone } = await planDoctorFix(ctx.host, report, [
    ...fixes.filter((f) => f.kind !== "pin-host-key"),
    ...confirmed,
  ]);
  const skipped = [...unpinned, ...notDone];
  const skippedText = skipped.map((s) => `Not fixed: ${s}.`).join("\n");
  if (plan.files.length === 0 && plan.commands.length === 0 && plan.notes.length === 0) {
    return {
      json: { ...jsonOf(report.checks), fix: { plan: null, applied: false, notDone: skipped } },
      text: skippedText || "Nothing to fix.",
      exitCode: exitCode(report.checks),
    };
  }
  const outcome = await runPlan(ctx, plan);
  const fixJson = (rendered: RenderedPlan) => ({ plan: rendered, applied: outcome.applied, notDone: skipped });
  if (!outcome.applied) {
    return {
      json: { ...jsonOf(report.checks), fix: fixJson(outcome.plan) },
      text: [describeOutcome(outcome), skippedText].filter(Boolean).join("\n"),
      exitCode: exitCode(report.checks),
    };
  }
  ctx.progress("Checking again after the fixes…");
  const after = await runDoctor(ctx, input);
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
    exitCode: exitCode(after.checks),
  };
};

export default doctor;
