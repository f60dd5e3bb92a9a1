// `cache add --on-builders`: with builders-use-substitutes a builder fetches inputs from its own
// caches (docs/binary-caches.md#settings), so the same substituter and key go into each builder's
// Nix configuration too: through the person's SSH login and sudo there, the path `builder
// setup-remote` uses (a remote plan per builder, applied by the plan runner, daemon restarted).
import type { Context } from "../../context.js";
import { addTokens } from "../../core/caches/conf-tokens.js";
import { loadConfigState } from "../../host/state.js";
import { type PlanOutcome, type PlanStep, runPlans } from "../plan-runner.js";
import { planRemoteNixConf } from "../builders/remote-conf.js";

export interface OnBuilderResult {
  builder: string;
  status: "changed" | "unchanged" | "managed" | "dry-run" | "failed";
  message: string;
}

type BuildersContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export async function addCacheOnBuilders(
  ctx: BuildersContext,
  cache: { url: string; keys: string[]; optional: boolean },
): Promise<OnBuilderResult[]> {
  const state = await loadConfigState(ctx.host, { nixVersion: false, tolerant: true });
  const builders = state.fleet.filter(
    (b) => b.managed && b.enabled && (b.protocol === "ssh" || b.protocol === "ssh-ng"),
  );
  const results: OnBuilderResult[] = [];
  const steps: { builder: string; step: PlanStep; restarts: boolean }[] = [];
  const setting = cache.optional ? "extra-trusted-substituters" : "extra-substituters";
  for (const builder of builders) {
    const planned = await planRemoteNixConf(ctx, builder, {
      title: `Add binary cache ${cache.url} on builder ${builder.name}`,
      reason: "substituter and its public key",
      what: "the cache",
      edit: (conf) =>
        addTokens(
          addTokens(conf, setting, [cache.url], "crossnix: binary caches this builder uses (crossnix cache add)"),
          "extra-trusted-public-keys",
          cache.keys,
          "crossnix: keys those caches sign with",
        ),
      managedHint: `set nix.settings.${setting} and extra-trusted-public-keys`,
      unchanged: `already lists ${cache.url}`,
    });
    if (planned.kind === "result")
      results.push({ builder: planned.builder, status: planned.status, message: planned.message });
    else steps.push({ builder: planned.builder, step: planned.step, restarts: planned.restarts });
  }
  if (steps.length === 0) return results;
  const outcomes: PlanOutcome[] = await runPlans(
    ctx,
    steps.map((s) => s.step),
  );
  for (const [i, outcome] of outcomes.entries()) {
    const name = steps[i]!.builder;
    results.push(
      outcome.applied
        ? {
            builder: name,
            status: "changed",
            message: `${name}: added ${cache.url}${steps[i]!.restarts ? " and restarted its Nix daemon" : ""}`,
          }
        : { builder: name, status: "dry-run", message: `${name}: dry run, nothing written there` },
    );
  }
  return results;
}
