// `crossnix internal apply-plan <file> --sha256 <digest>`: the root side of the sudo hand-off.
import type { Handler } from "../../context.js";
import { CrossnixError } from "../../errors.js";
import { applyPlan } from "../../host/plan/apply.js";
import { readHandedOffPlan } from "../../host/plan/handoff.js";

/** Applies a plan that an unprivileged crossnix already showed and had confirmed. */
const applyPlanFile: Handler = async (ctx, { args, options, passthrough }) => {
  const file = args[0] ?? passthrough[0]; // the hand-off puts it after `--`
  if (!file) throw new CrossnixError("USAGE", "apply-plan needs a plan file");
  const digest = typeof options["sha256"] === "string" ? options["sha256"] : undefined;
  const plan = await readHandedOffPlan(file, digest, ctx.host.env, ctx.host.root);
  const result = await applyPlan(ctx.host, plan, { command: ["crossnix", "internal", "apply-plan"] });
  return { json: { result }, text: `applied ${result.written.length + result.deleted.length} file change(s)` };
};

export default applyPlanFile;
