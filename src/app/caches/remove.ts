// `cache remove`: take out exactly what `cache add` wrote (its record says what), nothing else.
import type { Context } from "../../context.js";
import { planRemoveCache } from "../../core/caches/plan.js";
import { fetchUrl, sameSubstituter } from "../../core/caches/substituters.js";
import { parseNixConf } from "../../core/formats/nix-conf.js";
import { CrossnixError } from "../../errors.js";
import type { Host } from "../../host/system/host.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import { type CacheState, loadCacheState, restartCommand } from "./state.js";

export interface RemoveCacheResult {
  url: string;
  outcome: PlanOutcome;
}

/** `url` is what add wrote, or the same URL without its ?priority=. */
export async function removeCache(
  ctx: Pick<Context, "host" | "options" | "prompt" | "out" | "warn">,
  url: string,
): Promise<RemoveCacheResult> {
  const planFrom = async (state: CacheState) => {
    const found = state.records.find(
      (r) => sameSubstituter(r.record.url, url) || sameSubstituter(fetchUrl(r.record.url), fetchUrl(url)),
    );
    if (!found) {
      const known = state.records.map((r) => r.record.url);
      throw new CrossnixError("NOT_FOUND", `crossnix did not add a cache at ${url}`, {
        exitCode: 2,
        hint: known.length
          ? `caches crossnix added: ${known.join(", ")}`
          : "crossnix removes only caches it added; edit the file that lists it (crossnix cache list shows where)",
        nothingWritten: true,
      });
    }
    const stillUsed = new Set(state.records.filter((r) => r !== found).flatMap((r) => r.record.keysAdded));
    const settingsPath = found.record.settingsFile;
    const settings =
      settingsPath === state.settings.path ? state.settings : await loadSettingsFile(ctx.host, settingsPath);
    const netrcFile = found.record.netrc?.file ?? null;
    const plan = planRemoveCache(
      {
        settings,
        netrc: netrcFile ? { path: netrcFile, text: await ctx.host.readText(netrcFile) } : null,
        effectiveSubstituters: [],
        effectiveKeys: [],
        readOnlyReason: state.info.readOnlyReason,
        flavor: state.info.flavor,
        daemonReload: await restartCommand(ctx.host, state),
        now: ctx.host.now(),
      },
      found.record,
      found.text,
      stillUsed,
    );
    return { plan, url: found.record.url };
  };
  const first = await planFrom(await loadCacheState(ctx.host, { nixVersion: false }));
  const outcome = await runPlan(ctx, first.plan, {
    replan: async () => (await planFrom(await loadCacheState(ctx.host, { nixVersion: false }))).plan,
  });
  return { url: first.url, outcome };
}

/** The settings file an earlier add wrote to, when the daemon's settings file is another one now. */
async function loadSettingsFile(host: Host, path: string) {
  const text = await host.readText(path);
  return { path, text, model: parseNixConf(text ?? "", path) };
}
