// `crossnix builder disable <name>`: the name checked, setBuilderEnabled (shared with enable), its result rendered.
import { setBuilderEnabled } from "../../app/builders/enable.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";

export interface DisableOptions {
  name: string;
}

export function parseDisableOptions(args: string[]): DisableOptions {
  return { name: checkBuilderName("builder name", args[0] ?? "") };
}

const disable: Handler = async (ctx, { args }) => {
  const { name } = parseDisableOptions(args);
  const { enabled, outcome } = await setBuilderEnabled(ctx, { name, enabled: false });
  const text = outcome.noop ? `'${name}' is already disabled.` : describeOutcome(outcome);
  return { json: { name, enabled, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
};

export default disable;
