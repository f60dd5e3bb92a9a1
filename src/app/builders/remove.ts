// `builder remove`: take out what `builder add` wrote for a builder: entry, ssh alias, pinned key,
// and the dedicated key crossnix generated (never a key given with --identity).
import { planRemoveBuilder } from "../../core/builders/plan.js";
import { dedicatedKeyPath } from "../../host/builders/key-paths.js";
import { loadConfigState } from "../../host/state.js";
import { type PlanContext, type PlanOutcome, runPlan } from "../plan-runner.js";
import { managedBuilder } from "./managed.js";
import { planInputs } from "./plan-inputs.js";

export interface RemoveResult {
  name: string;
  /** noop: no builder of that name (nothing to remove, not an error). */
  outcome: PlanOutcome;
}

/** Removes crossnix's builder `name` (already a checked builder name); one crossnix did not write is a CONFLICT. */
export async function removeBuilder(ctx: PlanContext, input: { name: string }): Promise<RemoveResult> {
  const { name } = input;
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const builder = managedBuilder(state, name);
  const dedicated = dedicatedKeyPath(name);
  const keys: { path: string; text: string }[] = [];
  if (!builder || builder.entry.sshKey === dedicated) {
    for (const path of [dedicated, `${dedicated}.pub`]) {
      const text = await ctx.host.readText(path);
      if (text !== null) keys.push({ path, text });
    }
  }
  const plan = planRemoveBuilder(await planInputs(ctx.host, state, { settingsMayChange: false }), name, keys);
  return { name, outcome: await runPlan(ctx, plan) };
}
