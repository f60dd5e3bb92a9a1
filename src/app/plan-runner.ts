import type { Context } from "../context.js";
import { describePlan, isNoop, type Plan, type RenderedPlan } from "../core/plan/plan.js";
import { CrossnixError } from "../errors.js";
import { type ApplyResult, applyPlan, applyPlanWithSudo, unwritableFiles } from "../host/plan/apply.js";
import { renderPlanText } from "../ui/render-plan.js";
import { makeStyle } from "../ui/style.js";

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
export interface ConfirmOptions {
  /** Makes the plan again from the files as they are now (see ApplyOptions.replan). */
  replan?: () => Promise<Plan>;
}

export async function confirmAndApply(ctx: Context, plan: Plan, options: ConfirmOptions = {}): Promise<PlanOutcome> {
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
  // Another crossnix may apply first while this one waits for the lock: then the plan is made
  // again from the new files, shown, and (unless --yes) confirmed again.
  const confirmReplanned = async (next: Plan): Promise<boolean> => {
    if (!ctx.options.json) {
      process.stderr.write(
        "The files changed while crossnix waited (another crossnix applied first); the plan is now:\n",
      );
      process.stdout.write(`${renderPlanText(describePlan(next), makeStyle(ctx.options.color))}\n`);
    }
    return ctx.options.yes || (await ctx.prompt.confirm("Apply these changes?"));
  };
  const blocked = await unwritableFiles(ctx.host, plan);
  let result: ApplyResult;
  let applied = plan;
  if (blocked.length > 0 && ctx.host.uid !== 0) {
    // Said always, not only as progress: the user is about to see a sudo prompt.
    process.stderr.write(`crossnix needs root to write ${blocked.join(", ")}; asking sudo to apply the plan shown.\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        result = await applyPlanWithSudo(ctx.host, applied, ctx.prompt.interactive);
        break;
      } catch (error) {
        if (!options.replan || attempt === 3 || !/changed while crossnix was planning/.test((error as Error).message))
          throw error;
        applied = await options.replan();
        if (!(await confirmReplanned(applied)))
          throw new CrossnixError("NOT_APPLIED", "cancelled; nothing was written");
      }
    }
  } else {
    result = await applyPlan(ctx.host, plan, {
      replan: options.replan,
      confirmReplanned,
      command: ["crossnix", ...process.argv.slice(2)],
    });
    if (result.replanned) applied = result.replanned;
  }
  return { plan: applied === plan ? rendered : describePlan(applied), applied: true, noop, result };
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
