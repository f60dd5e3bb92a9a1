import type { Handler } from "../../context.js";
import { planToggleBuilder } from "../../core/builder-plan.js";
import { CrossnixError } from "../../errors.js";
import { loadConfigState } from "../../host/config-state.js";
import { confirmAndApply, describeOutcome } from "../../ui/confirm-apply.js";
import { planInputs } from "./plan-inputs.js";

function toggle(enabled: boolean): Handler {
  return async (ctx, { args }) => {
    const name = args[0] ?? "";
    const state = await loadConfigState(ctx.host, { nixVersion: false });
    const builder = state.fleet.find((b) => b.managed && b.name === name);
    if (!builder) {
      const known = state.fleet.filter((b) => b.managed).map((b) => b.name);
      throw new CrossnixError("NOT_FOUND", `no builder named '${name}' that crossnix manages`, {
        hint: known.length ? `known: ${known.join(", ")}` : "add one with: crossnix builder add user@host",
      });
    }
    const plan = planToggleBuilder(await planInputs(ctx.host, state, { settingsMayChange: false }), name, enabled);
    const outcome = await confirmAndApply(ctx, plan);
    const text = outcome.noop ? `'${name}' is already ${enabled ? "enabled" : "disabled"}.` : describeOutcome(outcome);
    return { json: { name, enabled, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
  };
}

export const enable = toggle(true);
export const disable = toggle(false);
