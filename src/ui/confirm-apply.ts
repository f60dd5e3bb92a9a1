import type { Context } from "../context.js";
import { describePlan, isNoop, type Plan, type RenderedPlan } from "../core/plan.js";
import { CrossnixError } from "../errors.js";
import { type ApplyResult, applyPlan, applyPlanWithSudo, unwritableFiles } from "../host/apply.js";
import { renderPlanText } from "./render-plan.js";
import { makeStyle } from "./style.js";

export interface PlanOutcome {
  plan: RenderedPlan;
  applied: boolean;
  noop: boolean;
  result?: ApplyResult;
}

/**
 * The one way a command changes files (DESIGN.md): show the plan; --dry-run stops there;
 * --yes applies; a terminal asks; no terminal and no --yes prints the plan and exits 1.
 */
export async function confirmAndApply(ctx: Context, plan: Plan): Promise<PlanOutcome> {
  const rendered = describePlan(plan);
  const noop = isNoop(plan);
  if (!ctx.options.json) process.stdout.write(`${renderPlanText(rendered, makeStyle(ctx.options.color))}\n`);
  if (noop) return { plan: rendered, applied: false, noop };
  if (ctx.options.dryRun) return { plan: rendered, applied: false, noop };
  if (!ctx.options.yes) {
    if (!ctx.prompt.interactive) {
      throw new CrossnixError("NOT_APPLIED", "no terminal to confirm the plan, so nothing was written", {
        hint: "re-run with --yes to apply it, or --dry-run to only show it",
        detail: { plan: rendered },
      });
    }
    if (!(await ctx.prompt.confirm("Apply these changes?"))) {
      throw new CrossnixError("NOT_APPLIED", "cancelled; nothing was written", { detail: { plan: rendered } });
    }
  }
  const blocked = await unwritableFiles(ctx.host, plan);
  let result: ApplyResult;
  if (blocked.length > 0 && ctx.host.uid !== 0) {
    // Said always, not only as progress: the user is about to see a sudo prompt.
    process.stderr.write(`crossnix needs root to write ${blocked.join(", ")}; asking sudo to apply the plan shown.\n`);
    result = await applyPlanWithSudo(ctx.host, plan, ctx.prompt.interactive);
  } else {
    result = await applyPlan(ctx.host, plan);
  }
  return { plan: rendered, applied: true, noop, result };
}

/** The timestamped directory all of one apply's backups went to. */
function backupDir(backups: string[]): string {
  const match = /^(.*\/backups\/[^/]+)\//.exec(backups[0] ?? "");
  return match ? `${match[1]}/` : backups.join(", ");
}

export function describeOutcome(outcome: PlanOutcome): string {
  if (outcome.noop) return "";
  if (!outcome.applied) return "Dry run: nothing was written.";
  const r = outcome.result;
  const lines = [`Applied: ${[...(r?.written ?? []), ...(r?.deleted ?? [])].length} file(s) changed.`];
  for (const c of r?.commands ?? []) {
    const verb = c.skipped ? "not run" : c.ok ? "ran" : "failed";
    lines.push(`${verb}: ${c.command}${c.detail ? ` (${c.detail})` : ""}`);
  }
  if (r?.backups.length) lines.push(`Backups of the old files: ${backupDir(r.backups)}`);
  return lines.join("\n");
}
