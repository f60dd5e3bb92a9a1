// `crossnix builder enable <name>`: the name checked, setBuilderEnabled (shared with disable), its result rendered.
import { setBuilderEnabled } from "../../app/builders/enable.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";

export interface EnableOptions {
  name: string;
}

export function parseEnableOptions(args: string[]): EnableOptions {
  return { name: checkBuilderName("builder name", args[0] ?? "") };
}

const enable: Handler = async (ctx, { args }) => {
  const { name } = parseEnableOptions(args);
  const { enabled, outcome } = await setBuilderEnabled(ctx, { name, enabled: true });
  const text = outcome.noop ? `'${name}' is already enabled.` : describeOutcome(outcome);
  return { json: { name, enabled, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
};

export default enable;
