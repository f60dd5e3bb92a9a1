// `crossnix cache add <cache>`: options read once, the add use case, its result rendered.
import { addCache } from "../../app/caches/add.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { type CacheAddFlags, parseCacheRequest } from "../../core/caches/request.js";
import { flagOption, listOption, negatableOption, type RawOptions, stringOption } from "../options.js";

export function parseCacheAddFlags(raw: RawOptions): CacheAddFlags {
  const flags: CacheAddFlags = {
    key: listOption(raw, "key"),
    optional: flagOption(raw, "optional"),
    verifyKey: negatableOption(raw, "verifyKey"),
    onBuilders: flagOption(raw, "onBuilders"),
  };
  for (const name of ["priority", "netrcHost", "netrcLogin", "netrcPasswordFile", "probePath"] as const) {
    const value = stringOption(raw, name);
    if (value !== undefined) flags[name] = value;
  }
  return flags;
}

const add: Handler = async (ctx, { args, options }) => {
  const request = parseCacheRequest(args[0] ?? "", parseCacheAddFlags(options));
  const result = await addCache(ctx, request);
  const { outcome } = result;
  const json = {
    url: result.url,
    cacheInfo: result.cacheInfo,
    keyCheck: result.keyCheck,
    plan: outcome.plan,
    applied: outcome.applied,
    noop: outcome.noop,
    proven: result.proven,
    builders: result.builders,
    messages: result.messages,
  };
  const text = [
    outcome.noop ? `Nothing to change: the daemon already uses ${result.url}.` : describeOutcome(outcome),
    ...result.after,
  ]
    .filter(Boolean)
    .join("\n");
  const builderFailed = result.builders?.some((b) => b.status === "failed") ?? false;
  return { json, text, exitCode: result.proven === false || builderFailed ? 1 : 0 };
};

export default add;
