// `crossnix builder remove <name>`: the name checked, the remove use case, its result rendered.
import { removeBuilder } from "../../app/builders/remove.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";

export interface RemoveOptions {
  name: string;
}

export function parseRemoveOptions(args: string[]): RemoveOptions {
  return { name: checkBuilderName("builder name", args[0] ?? "") };
}

const remove: Handler = async (ctx, { args }) => {
  const { name } = parseRemoveOptions(args);
  const { outcome } = await removeBuilder(ctx, { name });
  const text = outcome.noop ? `No builder named '${name}'; nothing to remove.` : describeOutcome(outcome);
  return { json: { name, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
};

export default remove;
