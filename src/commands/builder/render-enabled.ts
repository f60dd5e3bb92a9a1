// `builder enable` and `builder disable` are one command with two values: the name checked,
// setBuilderEnabled called, its result rendered.
import { setBuilderEnabled } from "../../app/builders/enable.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";

export function setEnabledCommand(enabled: boolean): Handler {
  return async (ctx, { args }) => {
    const name = checkBuilderName("builder name", args[0] ?? "");
    const result = await setBuilderEnabled(ctx, { name, enabled });
    const { outcome } = result;
    const text = outcome.noop ? `'${name}' is already ${enabled ? "enabled" : "disabled"}.` : describeOutcome(outcome);
    const json = { name, enabled: result.enabled, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop };
    return { json, text };
  };
}
