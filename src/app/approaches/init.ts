// `crossnix init`: detect, recommend an approach with reasons from this machine, ask only what it must
// (every question is also a flag), bring it up through migrate's steps (nothing retired), end with doctor.
import type { Context } from "../../context.js";
import { detectApproaches } from "../../core/approaches/detect.js";
import { parseTarget } from "../../core/approaches/migrate.js";
import { type Recommendation, recommend } from "../../core/approaches/recommend.js";
import { badInput } from "../../errors.js";
import { latestMeasurements } from "../../core/approaches/measured.js";
import { isBenchRun } from "../../core/bench/results.js";
import { readSnapshot } from "../../host/approaches/snapshot.js";
import { readRecords } from "../../host/system/records.js";
import { benchRecordFile } from "../bench/run.js";
import { machineResources } from "../../host/system/resources.js";
import { chooseWith } from "../../ui/prompt.js";
import { type DoctorReport, runDoctor } from "../doctor.js";
import { type MigrateContext, type MigrateResult, migrate } from "./migrate.js";

export interface InitInput {
  /** --approach: skips the question. */
  approach?: string;
  doctor: boolean;
}

export interface InitResult {
  recommendation: Recommendation;
  chosen: string;
  setup: MigrateResult;
  doctor: { ok: boolean; failed: string[] } | null;
}

export async function init(ctx: MigrateContext, input: InitInput): Promise<InitResult> {
  // determinate-nixd is asked (as `native status` does): whether the account is granted decides the advice.
  const snapshot = await readSnapshot(ctx.host, { probe: false, askNixd: true, timeoutSeconds: ctx.options.timeout });
  const report = detectApproaches(snapshot);
  const measured = latestMeasurements(readRecords(benchRecordFile(ctx.host), isBenchRun));
  const recommendation = recommend(report, await machineResources(ctx.host), {
    builders: measured,
    now: ctx.host.now(),
  });
  ctx.out(
    [
      `Recommended: ${recommendation.approach}`,
      ...recommendation.reasons.map((r) => `  because ${r}`),
      ...recommendation.alternatives.map((a) => `  also possible: ${a.approach} (${a.why})`),
      "",
    ].join("\n"),
  );
  const chosen = await choose(ctx, input, recommendation);
  const setup = await migrate(ctx, { to: chosen, from: undefined, build: false, retire: false });
  let doctor: InitResult["doctor"] = null;
  if (input.doctor && !ctx.options.dryRun) {
    ctx.progress("Running doctor…");
    const report: DoctorReport = await runDoctor(ctx, {
      builder: null,
      build: true,
      timeoutSeconds: ctx.options.timeout,
    });
    const failed = report.checks.filter((c) => c.status === "fail").map((c) => `${c.id}: ${c.observed}`);
    doctor = { ok: failed.length === 0, failed };
  }
  return { recommendation, chosen, setup, doctor };
}

/** The approach: --approach, else the person's answer (the recommendation by default), else with --yes the recommendation. */
async function choose(
  ctx: Pick<Context, "prompt" | "options">,
  input: InitInput,
  rec: Recommendation,
): Promise<string> {
  let answer = input.approach;
  if (answer === undefined) {
    if (!ctx.prompt.interactive || ctx.options.yes) {
      if (rec.approach === "ssh")
        throw badInput("--approach", "(none)", "an SSH builder needs a destination", "pass --approach ssh:<user@host>");
      answer = rec.approach;
    } else {
      const choices = [
        { value: "native", label: "Determinate's native Linux builder" },
        { value: "lima", label: "a Lima VM on this Mac" },
        { value: "ssh", label: "a Linux machine over SSH" },
      ];
      const picked = await chooseWith(
        ctx.prompt,
        "How should this machine build Linux?",
        choices,
        rec.approach.replace(/^ssh:.*/, "ssh"),
      );
      answer = picked;
      if (picked === "ssh") {
        const destination = rec.approach.startsWith("ssh:")
          ? rec.approach.slice(4)
          : await ctx.prompt.ask("SSH destination (user@host):");
        answer = `ssh:${destination}`;
      }
    }
  }
  parseTarget(answer);
  return answer;
}
