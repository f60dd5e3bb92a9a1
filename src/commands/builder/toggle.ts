import type { Handler } from "../../context.js";
import { planToggleBuilder } from "../../core/builders/plan.js";
import { checkBuilderName } from "../../core/builders/name.js";
import { noSuchBuilder } from "../../errors.js";
import { loadConfigState } from "../../host/state.js";
import { runPlan, describeOutcome } from "../../app/plan-runner.js";
import { managedBuilder, managedNames } from "../../app/builders/managed.js";
import { planInputs } from "../../app/builders/plan-inputs.js";

function toggle(enabled: boolean): Handler {
  return async (ctx, { args }) => {
    const name = checkBuilderName("builder name", args[0] ?? "");
    const state = await loadConfigState(ctx.host, { nixVersion: false });
    const builder = managedBuilder(state, name);
    if (!builder) throw noSuchBuilder([name], managedNames(state));
    const plan = planToggleBuilder(await planInputs(ctx.host, state, { settingsMayChange: false }), name, enabled);
    const outcome = await runPlan(ctx, plan);
    const text = outcome.noop ? `'${name}' is already ${enabled ? "enabled" : "disabled"}.` : describeOutcome(outcome);
    return { json: { name, enabled, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
  };
}

export const enable = toggle(true);
export const disable = toggle(false);
