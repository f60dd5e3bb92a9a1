// `crossnix undo [id]`: puts back the files of the last (or given) applied plan, through the plan runner.
import { planUndo } from "../app/history.js";
import { describeOutcome, runPlan } from "../app/plan-runner.js";
import type { Handler } from "../context.js";

const undo: Handler = async (ctx, { args }) => {
  const { record, plan } = await planUndo(ctx.host, args[0]);
  const outcome = await runPlan(ctx, plan);
  return { json: { undone: record.id, plan: outcome.plan, applied: outcome.applied }, text: describeOutcome(outcome) };
};

export default undo;
