import type { Handler } from "../../context.js";
import { planRemoveBuilder } from "../../core/builders/plan.js";
import { checkBuilderName } from "../../core/builders/name.js";
import { loadConfigState } from "../../host/state.js";
import { dedicatedKeyPath } from "../../host/builders/key-paths.js";
import { runPlan, describeOutcome } from "../../app/plan-runner.js";
import { managedBuilder } from "../../app/builders/managed.js";
import { planInputs } from "../../app/builders/plan-inputs.js";

const remove: Handler = async (ctx, { args }) => {
  const name = checkBuilderName("builder name", args[0] ?? "");
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const builder = managedBuilder(state, name);
  // Only the dedicated key crossnix generated is deleted; a key given with --identity is the user's.
  const dedicated = dedicatedKeyPath(name);
  const keys: { path: string; text: string }[] = [];
  if (!builder || builder.entry.sshKey === dedicated) {
    for (const path of [dedicated, `${dedicated}.pub`]) {
      const text = await ctx.host.readText(path);
      if (text !== null) keys.push({ path, text });
    }
  }
  const plan = planRemoveBuilder(await planInputs(ctx.host, state, { settingsMayChange: false }), name, keys);
  const outcome = await runPlan(ctx, plan);
  const text = outcome.noop ? `No builder named '${name}'; nothing to remove.` : describeOutcome(outcome);
  return { json: { name, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop }, text };
};

export default remove;
