import { readFile } from "node:fs/promises";
import type { Handler } from "../../context.js";
import type { Plan } from "../../core/plan.js";
import { CrossnixError } from "../../errors.js";
import { applyPlan } from "../../host/apply.js";

/** Applies a plan that an unprivileged crossnix already showed and had confirmed. */
const applyPlanFile: Handler = async (ctx, { args }) => {
  const file = args[0];
  if (!file) throw new CrossnixError("USAGE", "apply-plan needs a plan file");
  const plan = JSON.parse(await readFile(file, "utf8")) as Plan;
  const result = await applyPlan(ctx.host, plan);
  return { json: { result }, text: `applied ${result.written.length + result.deleted.length} file change(s)` };
};

export default applyPlanFile;
