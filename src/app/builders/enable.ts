// `builder enable` and `builder disable`: comment crossnix's machines entry out, or back in.
import { planToggleBuilder } from "../../core/builders/plan.js";
import { noSuchBuilder } from "../../errors.js";
import { loadConfigState } from "../../host/state.js";
import { type PlanContext, type PlanOutcome, runPlan } from "../plan-runner.js";
import { managedBuilder, managedNames } from "./managed.js";
import { planInputs } from "./plan-inputs.js";

export interface SetEnabledResult {
  name: string;
  enabled: boolean;
  /** noop: it already was. */
  outcome: PlanOutcome;
}

/** Enables or disables crossnix's builder `name`; an unknown name is NOT_FOUND (exit 2). */
export async function setBuilderEnabled(
  ctx: PlanContext,
  input: { name: string; enabled: boolean },
): Promise<SetEnabledResult> {
  const { name, enabled } = input;
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  if (!managedBuilder(state, name)) throw noSuchBuilder([name], managedNames(state));
  const plan = planToggleBuilder(await planInputs(ctx.host, state, { settingsMayChange: false }), name, enabled);
  return { name, enabled, outcome: await runPlan(ctx, plan) };
}
