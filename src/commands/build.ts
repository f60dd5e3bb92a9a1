import type { Context, Handler } from "../context.js";
import {
  type BuilderHealth,
  type CandidateBuilder,
  checkCoverage,
  type DerivationNeed,
} from "../core/build/coverage.js";
import { drvName, type LogEvent, NixLogTracker } from "../core/build/nix-log.js";
import { diagnoseNixOutput } from "../core/diagnosis/nix.js";
import { isTrustedUser } from "../core/nix/trust.js";
import { daemonSshTarget, type FleetBuilder, findBuilder } from "../core/builders/fleet.js";
import { formatEntry, isKnownSystem, normalizeStoreUri } from "../core/formats/machines/index.js";
import { checkBuilderName } from "../core/builders/name.js";
import { badInput, CrossnixError, noSuchBuilder } from "../errors.js";
import { loadConfigState } from "../host/state.js";
import { localCapability } from "../host/nix/local-capability.js";
import { currentUser } from "../host/system/user.js";
import { derivationInfo, derivationsToBuild, runNix } from "../host/nix/nix.js";
import { reachBuilder } from "../host/builders/probe.js";
import { readProbeCache, writeProbeCache } from "../host/builders/probe-cache.js";
import { makeStyle, type Style } from "../ui/style.js";
import { renderTable } from "../ui/table.js";

const cacheKey = (b: FleetBuilder) => `${b.name}\0${b.uri}\0${b.hostKeyLine ?? ""}`;

/** Health of the builders that could take some derivation; probed concurrently, cached briefly. */
async function builderHealth(ctx: Context, builders: FleetBuilder[]): Promise<Map<string, BuilderHealth>> {
  const health = new Map<string, BuilderHealth>();
  // Only root can use the daemon's keys (0600, root): others rely on the configuration alone.
  if (ctx.host.uid !== 0) {
    for (const b of builders) health.set(b.name, { state: "unknown" });
    return health;
  }
  const now = Date.now();
  const cache = await readProbeCache(now);
  const fresh = new Map<string, BuilderHealth>();
  await Promise.all(
    builders.map(async (b) => {
      const cached = cache.get(cacheKey(b));
      if (cached) {
        health.set(b.name, cached);
        return;
      }
      const outcome = await reachBuilder(ctx.host, daemonSshTarget(b), { timeoutSeconds: ctx.options.timeout });
      const h: BuilderHealth = outcome.ok
        ? { state: "ok" }
        : { state: "down", reason: `${outcome.failure.summary} (${outcome.failure.evidence})` };
      health.set(b.name, h);
      fresh.set(cacheKey(b), h);
    }),
  );
  if (fresh.size) await writeProbeCache(new Map([...cache, ...fresh]), now);
  return health;
}

/** After Nix could not reach some builders, drop them from the cache so the next run asks again. */
async function forgetBuilders(builders: FleetBuilder[]): Promise<void> {
  if (builders.length === 0) return;
  const now = Date.now();
  const cache = await readProbeCache(now);
  for (const b of builders) cache.delete(cacheKey(b));
  await writeProbeCache(cache, now);
}

function progressLine(
  style: Style,
  event: LogEvent,
  names: (machine: string) => string,
  showLogs: boolean,
): string | null {
  switch (event.kind) {
    case "build-start":
      return `${style.cyan("▸")} building ${drvName(event.drv)} on ${names(event.machine)}`;
    case "build-end":
      return `${style.green("✓")} ${drvName(event.drv)} on ${names(event.machine)} (${event.seconds.toFixed(1)} s)`;
    case "substitute":
      return `${style.dim("↓")} fetching ${drvName(event.path)} from ${event.from}`;
    case "log":
      return showLogs ? `${style.dim(`${drvName(event.drv)}>`)} ${event.line}` : null;
    case "message":
      return event.level <= 1 || showLogs ? event.text : null;
  }
}

const build: Handler = async (ctx, { args, options, passthrough }) => {
  const started = performance.now();
  const system = options["system"] === undefined ? null : String(options["system"]);
  if (system !== null && !isKnownSystem(system))
    throw badInput("--system", system, "not a Nix system double", "e.g. aarch64-linux");
  const builderName =
    options["builder"] === undefined ? null : checkBuilderName("--builder", String(options["builder"]));
  const installables = args.length || passthrough.length ? args : ["."];
  const state = await loadConfigState(ctx.host);
  if (!state.info.nix.present)
    throw new CrossnixError("NIX", "nix is not installed or not on PATH", { hint: "install Determinate Nix" });
  const local = await localCapability(ctx.host, state.info);
  const nixArgs = [...passthrough, ...(system ? ["--system", system] : [])];

  let candidates = state.fleet.filter((b) => b.enabled);
  if (builderName !== null) {
    const chosen = findBuilder(state.fleet, builderName);
    if (!chosen)
      throw noSuchBuilder(
        [builderName],
        state.fleet.map((b) => b.name),
      );
    // A client's `builders` reaches the daemon only from a trusted user (daemon.cc, docs/nix-settings.md#client-overrides).
    const user = currentUser();
    if (state.info.mode === "daemon" && !isTrustedUser(local.trustedUsers, user.name, user.groups)) {
      throw new CrossnixError(
        "PERMISSION",
        `--builder needs a user the Nix daemon trusts; ${user.name} is not in trusted-users (${local.trustedUsers.join(" ")})`,
        {
          hint: `run it with sudo, or build without --builder and let Nix choose among the configured builders`,
        },
      );
    }
    candidates = [chosen];
    nixArgs.push("--builders", formatEntry(chosen.entry), "--max-jobs", "0");
    local.maxJobs = 0;
  }

  ctx.progress("Evaluating what must be built…");
  // Reaching the builders overlaps with evaluation; it cannot wait to know which systems matter.
  const healthPromise = builderHealth(ctx, candidates);
  const toBuild = await derivationsToBuild(ctx.host, installables, nixArgs).catch(async (error: unknown) => {
    await healthPromise;
    throw error;
  });
  const info = await derivationInfo(ctx.host, state.info.nix.version?.nix ?? null, toBuild);
  const needs: DerivationNeed[] = toBuild.map((drv) => ({
    drv,
    system: info.get(drv)?.system ?? state.info.system,
    features: info.get(drv)?.features ?? [],
  }));
  const health = await healthPromise;
  const coverage = checkCoverage(
    needs,
    candidates.map<CandidateBuilder>((b) => ({
      name: b.name,
      systems: b.entry.systems,
      features: b.entry.supportedFeatures,
      mandatoryFeatures: b.entry.mandatoryFeatures,
      health: health.get(b.name) ?? { state: "unknown" },
    })),
    local,
  );
  if (!coverage.ok) {
    throw new CrossnixError(
      "CHECK_FAILED",
      `cannot build: ${coverage.problems.map((p) => p.detail).join("; ")}. The build was not started.`,
      {
        hint: coverage.problems.some((p) => p.reason === "none-configured")
          ? "add a builder for that system: crossnix builder add user@host"
          : "run crossnix doctor to see why",
        detail: { problems: coverage.problems },
      },
    );
  }

  const style = makeStyle(ctx.options.color);
  const names = (machine: string) => {
    if (machine === "") return "local";
    const builder = state.fleet.find((b) => b.entry.uri === machine || b.uri === normalizeStoreUri(machine));
    return builder?.name ?? machine;
  };
  const showLogs = ctx.options.verbose || passthrough.includes("-L") || passthrough.includes("--print-build-logs");
  const tracker = new NixLogTracker();
  let pending = "";
  const run = await runNix(
    ctx.host,
    ["build", "--log-format", "internal-json", "--json", ...installables, ...nixArgs],
    {
      onStderr: (chunk) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          const event = tracker.feed(line, performance.now());
          const text = event && !ctx.options.json ? progressLine(style, event, names, showLogs) : null;
          if (text !== null) process.stderr.write(`${text}\n`);
        }
      },
    },
  );
  if (pending) tracker.feed(pending, performance.now());
  const seconds = (performance.now() - started) / 1000;
  const builds = tracker.builds.map((b) => ({ drv: b.drv, builder: names(b.machine), seconds: b.seconds }));
  const substituted = tracker.substituted.map((s) => s.path);

  if (run.exitCode !== 0) {
    const diagnoses = diagnoseNixOutput(tracker.messages.join("\n"));
    const first = diagnoses[0];
    const unreachable = new Set(
      diagnoses.filter((d) => d.builder && d.cause !== "build-failed").map((d) => names(d.builder!)),
    );
    await forgetBuilders(candidates.filter((b) => unreachable.has(b.name)));
    throw new CrossnixError(
      "NIX",
      first
        ? `the build failed: ${first.summary}${first.builder ? ` (${names(first.builder)})` : ""}`
        : "the build failed",
      {
        hint: first?.fix ?? "run again with -v to see Nix's full output",
        detail: { diagnoses, builds, evidence: first?.evidence },
      },
    );
  }
  let outputs: string[] = [];
  try {
    const parsed = JSON.parse(run.stdout) as { outputs?: Record<string, string> }[];
    outputs = parsed.flatMap((p) => Object.values(p.outputs ?? {}));
  } catch {
    outputs = run.stdout.split("\n").filter((l) => l.startsWith("/"));
  }
  const table = builds.length
    ? renderTable(
        ["DERIVATION", "BUILDER", "TIME"],
        builds.map((b) => [drvName(b.drv), b.builder, b.seconds === null ? "?" : `${b.seconds.toFixed(1)} s`]),
      )
    : "Nothing had to be built.";
  const text = [
    ...outputs,
    "",
    table,
    ...(substituted.length ? [`Fetched ${substituted.length} path(s) from caches.`] : []),
    `Done in ${seconds.toFixed(1)} s.`,
  ].join("\n");
  return { json: { outputs, builds, substituted, copied: tracker.copied, seconds, routes: coverage.routes }, text };
};

export default build;
