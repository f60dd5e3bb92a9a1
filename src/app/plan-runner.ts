// The one way crossnix changes anything (DESIGN.md): show the plan (or several plans, on this machine
// and on builders) → --dry-run stops → confirm (a terminal asks; --yes; no terminal and no --yes
// writes nothing, exit 1) → apply each plan with its applier → report. A new mutation command only
// builds a plan and calls runPlan.
import type { Context } from "../context.js";
import { describePlan, isNoop, type Plan, type RenderedPlan } from "../core/plan/plan.js";
import { CrossnixError, isPlanOutdated } from "../errors.js";
import { type ApplyResult, applyPlan, applyPlanWithSudo, notingSymlinks, unwritableFiles } from "../host/plan/apply.js";
import { renderPlanText } from "../ui/render-plan.js";
import { makeStyle } from "../ui/style.js";

/** Applies a confirmed plan somewhere: this machine (directly or through sudo), or a builder over SSH. */
export interface Applier {
  /** Where the plan applies, for the question and messages ("this machine", "nix@box"). */
  where: string;
  apply(plan: Plan, hooks: ApplyHooks): Promise<ApplyResult>;
}

export interface ApplyHooks {
  /** Makes the plan again from the files as they are now (another crossnix applied first). */
  replan?: () => Promise<Plan>;
  /** Shows a re-made plan and asks again (true under --yes). */
  confirmReplanned: (plan: Plan) => Promise<boolean>;
}

export interface PlanOutcome {
  plan: RenderedPlan;
  applied: boolean;
  noop: boolean;
  result?: ApplyResult;
}

export interface RunOptions {
  /** Makes the plan again from the files as they are now (runs are serialised, not rejected). */
  replan?: () => Promise<Plan>;
  /** Where it applies; this machine when omitted. */
  applier?: Applier;
}

/** What running a plan uses: the files (host), the person (prompt, out, warn) and the global flags. */
export type PlanContext = Pick<Context, "host" | "options" | "prompt" | "out" | "warn">;

export interface PlanStep extends RunOptions {
  plan: Plan;
}

/** Shows, confirms and applies one plan. */
export async function runPlan(ctx: PlanContext, plan: Plan, options: RunOptions = {}): Promise<PlanOutcome> {
  const [outcome] = await runPlans(ctx, [{ plan, ...options }]);
  return outcome as PlanOutcome;
}

/**
 * Shows every plan, asks once, then applies them in order (each with its applier). A failure stops
 * there: the plans before it stay applied (each is journaled and undoable), the rest are not tried.
 */
export async function runPlans(ctx: PlanContext, given: PlanStep[]): Promise<PlanOutcome[]> {
  const style = makeStyle(ctx.options.color);
  // Changes to this machine's files say so when they go through a symlink (written to its target).
  const steps = await Promise.all(
    given.map(async (s) => (s.applier ? s : { ...s, plan: await notingSymlinks(ctx.host, s.plan) })),
  );
  const rendered = steps.map((s) => describePlan(s.plan));
  for (const [i, r] of rendered.entries()) {
    // A plan made for another machine usually names it in its title already; say it only once.
    const on = steps[i]?.applier?.where;
    const where = on !== undefined && !r.title.includes(on) ? ` (on ${on})` : "";
    ctx.out(`${renderPlanText({ ...r, title: `${r.title}${where}` }, style)}\n`);
  }
  const outcomes: PlanOutcome[] = steps.map((s, i) => ({
    plan: rendered[i] as RenderedPlan,
    applied: false,
    noop: isNoop(s.plan),
  }));
  const pending = steps.filter((s) => !isNoop(s.plan));
  if (pending.length === 0 || ctx.options.dryRun) return outcomes;
  await confirm(ctx, rendered, steps);
  for (const [i, step] of steps.entries()) {
    const outcome = outcomes[i] as PlanOutcome;
    if (outcome.noop) continue;
    const applier = step.applier ?? localApplier(ctx);
    const hooks: ApplyHooks = { confirmReplanned: (next) => confirmReplanned(ctx, next) };
    if (step.replan) hooks.replan = step.replan;
    const result = await applier.apply(step.plan, hooks);
    outcomes[i] = {
      plan: result.replanned ? describePlan(result.replanned) : outcome.plan,
      applied: true,
      noop: false,
      result,
    };
  }
  return outcomes;
}

async function confirm(ctx: PlanContext, rendered: RenderedPlan[], steps: PlanStep[]): Promise<void> {
  if (ctx.options.yes) return;
  const detail = { plan: rendered.length === 1 ? rendered[0] : rendered };
  const remote = steps.map((s) => s.applier?.where).filter((w): w is string => w !== undefined);
  if (!ctx.prompt.interactive) {
    const what = remote.length > 0 ? `the change on ${remote.join(", ")}` : "the plan";
    throw new CrossnixError("NOT_APPLIED", `no terminal to confirm ${what}, so nothing was written`, {
      hint: "re-run with --yes to apply it, or --dry-run to only show it",
      detail,
    });
  }
  const question = remote.length > 0 ? `Apply these changes on ${remote.join(", ")}?` : "Apply these changes?";
  if (!(await ctx.prompt.confirm(question))) {
    throw new CrossnixError("NOT_APPLIED", "cancelled; nothing was written", { detail });
  }
}

/** Another crossnix applied first while this one waited for the lock: show the new plan, ask again. */
async function confirmReplanned(ctx: PlanContext, next: Plan): Promise<boolean> {
  ctx.warn("The files changed while crossnix waited (another crossnix applied first); the plan is now:");
  ctx.out(`${renderPlanText(describePlan(next), makeStyle(ctx.options.color))}\n`);
  return ctx.options.yes || (await ctx.prompt.confirm("Apply these changes?"));
}

/** This machine: directly when the files are writable, else through `sudo crossnix internal apply-plan`. */
export function localApplier(ctx: PlanContext): Applier {
  return {
    where: "this machine",
    async apply(plan, hooks) {
      const elsewhere = plan.files.find((f) => f.machine !== undefined);
      if (elsewhere) throw new Error(`a plan for ${elsewhere.machine} cannot be applied on this machine`);
      const blocked = await unwritableFiles(ctx.host, plan);
      if (blocked.length === 0 || ctx.host.uid === 0) {
        return applyPlan(ctx.host, plan, {
          ...(hooks.replan ? { replan: hooks.replan } : {}),
          confirmReplanned: hooks.confirmReplanned,
          command: ["crossnix", ...process.argv.slice(2)],
          notice: (line) => ctx.warn(`crossnix: ${line}`),
        });
      }
      // Said always, not only as progress: the user is about to see a sudo prompt.
      ctx.warn(`crossnix needs root to write ${blocked.join(", ")}; asking sudo to apply the plan shown.`);
      let current = plan;
      for (let attempt = 0; ; attempt++) {
        try {
          const result = await applyPlanWithSudo(ctx.host, current, ctx.prompt.interactive);
          return current === plan ? result : { ...result, replanned: current };
        } catch (error) {
          if (!hooks.replan || attempt === 3 || !isPlanOutdated(error)) throw error;
          current = await hooks.replan();
          if (!(await hooks.confirmReplanned(current))) {
            throw new CrossnixError("NOT_APPLIED", "cancelled; nothing was written");
          }
        }
      }
    },
  };
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
  if (r?.id) lines.push(`Undo with: crossnix undo ${r.id}`);
  return lines.join("\n");
}
