// `crossnix cache remove <cache>`: the URL resolved like add's, the remove use case, its result rendered.
import { removeCache } from "../../app/caches/remove.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { parseCacheRequest } from "../../core/caches/request.js";

const remove: Handler = async (ctx, { args }) => {
  const request = parseCacheRequest(args[0] ?? "", { verifyKey: false });
  const { url, outcome } = await removeCache(ctx, request.url);
  return {
    json: { url, plan: outcome.plan, applied: outcome.applied, noop: outcome.noop },
    text: describeOutcome(outcome),
  };
};

export default remove;
