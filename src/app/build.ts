// The `crossnix build` use case: checks that every derivation has somewhere to build (with a short
// builder-health cache), runs Nix, and reports which builder built what.
import type { Context } from "../context.js";
import { daemonSshTarget, type FleetBuilder, findBuilder } from "../core/builders/fleet.js";
import {
  type BuilderHealth,
  type CandidateBuilder,
  type Coverage,
  checkCoverage,
  type DerivationNeed,
} from "../core/build/coverage.js";
import { type LogEvent, NixLogTracker } from "../core/build/nix-log.js";
import { diagnoseNixOutput } from "../core/diagnosis/index.js";
import { formatEntry, normalizeStoreUri } from "../core/formats/machines/index.js";
import { isTrustedUser } from "../core/nix/trust.js";
import { CrossnixError, noSuchBuilder } from "../errors.js";
import { readProbeCache, writeProbeCache } from "../host/builders/probe-cache.js";
import { reachBuilder } from "../host/builders/probe.js";
import { localCapability } from "../host/nix/local-capability.js";
import { derivationInfo, derivationsToBuild, runNix } from "../host/nix/nix.js";
import { loadConfigState } from "../host/state.js";
import type { Host } from "../host/system/host.js";
import { currentUser } from "../host/system/user.js";

export interface BuildInput {
  /** What to build; [] with no passthrough means ".". */
  installables: string[];
  /** Arguments for nix build, unchanged (everything after `--`). */
  passthrough: string[];
  /** --system, passed to nix. */
  system: string | null;
  /** Build only on this builder (needs a user the daemon trusts). */
  builder: string | null;
  /** Each builder's health probe takes at most this long. */
  timeoutSeconds: number;
}

export interface BuildResult {
  outputs: string[];
  /** Who built what, by crossnix name ("local" for this machine). */
  builds: { drv: string; builder: string; seconds: number | null }[];
  substituted: string[];
  copied: NixLogTracker["copied"];
  seconds: number;
  routes: Coverage["routes"];
}

/** What a build reports while it runs: Nix's events, with a machine's URI turned into a builder's name. */
export type BuildObserver = (event: LogEvent, builderName: (machine: string) => string) => void;

/**
 * Builder health is remembered briefly, so back-to-back builds do not pay for an SSH round trip to
 * every builder each time. Only answers are remembered (a builder that was down is asked again),
 * keyed by the entry's URI and pinned key so a changed entry is asked afresh; a builder Nix then
 * fails to reach is forgotten.
 */
const HEALTH_TTL_MS = 30_000;

const cacheKey = (b: FleetBuilder) => `${b.name}\0${b.uri}\0${b.hostKeyLine ?? ""}`;

/** The remembered answers still fresh at `now`. */
async function freshHealth(now: number): Promise<Map<string, BuilderHealth>> {
  const records = await readProbeCache();
  return new Map(
    [...records]
      .filter(([, r]) => typeof r?.at === "number" && now - r.at < HEALTH_TTL_MS)
      .map(([k, r]) => [k, r.health]),
  );
}

/** Remembers these answers as learned at `now` (only the builders that answered). */
async function rememberHealth(entries: Map<string, BuilderHealth>, now: number): Promise<void> {
  const records = new Map(
    [...entries].filter(([, health]) => health.state === "ok").map(([key, health]) => [key, { at: now, health }]),
  );
  await writeProbeCache(records);
}

/** Health of the builders that could take some derivation; probed concurrently, cached briefly. */
async function builderHealth(
  host: Host,
  builders: FleetBuilder[],
  timeoutSeconds: number,
): Promise<Map<string, BuilderHealth>> {
  const health = new Map<string, BuilderHealth>();
  // Only root can use the daemon's keys (0600, root): others rely on the configuration alone.
  if (host.uid !== 0) {
    for (const b of builders) health.set(b.name, { state: "unknown" });
    return health;
  }
  const now = host.now().getTime();
  const cache = await freshHealth(now);
  const fresh = new Map<string, BuilderHealth>();
  await Promise.all(
    builders.map(async (b) => {
      const cached = cache.get(cacheKey(b));
      if (cached) {
        health.set(b.name, cached);
        return;
      }
      const outcome = await reachBuilder(host, daemonSshTarget(b), { timeoutSeconds });
      const h: BuilderHealth = outcome.ok
        ? { state: "ok" }
        : { state: "down", reason: `${outcome.failure.summary} (${outcome.failure.evidence})` };
      health.set(b.name, h);
      fresh.set(cacheKey(b), h);
    }),
  );
  if (fresh.size) await rememberHealth(new Map([...cache, ...fresh]), now);
  return health;
}

/** After Nix could not reach some builders, drop them from the cache so the next run asks again. */
async function forgetBuilders(host: Host, builders: FleetBuilder[]): Promise<void> {
  if (builders.length === 0) return;
  const now = host.now().getTime();
  const cache = await freshHealth(now);
  for (const b of builders) cache.delete(cacheKey(b));
  await rememberHealth(cache, now);
}

/**
 * Builds through the fleet: first checks that every derivation to build has a healthy builder
 * (or this machine) that can take it, and refuses to start otherwise; then runs nix build,
 * following who builds what. A failed build is decoded (diagnoseNixOutput) into the error.
 */
export async function runBuild(
  ctx: Pick<Context, "host" | "progress">,
  input: BuildInput,
  observe: BuildObserver = () => {},
): Promise<BuildResult> {
  const started = performance.now();
  const { host } = ctx;
  const installables = input.installables.length || input.passthrough.length ? input.installables : ["."];
  const state = await loadConfigState(host);
  if (!state.info.nix.present)
    throw new CrossnixError("NIX", "nix is not installed or not on PATH", { hint: "install Determinate Nix" });
  let local = await localCapability(host, state.info);
  const nixArgs = [...input.passthrough, ...(input.system ? ["--system", input.system] : [])];

  let candidates = state.fleet.filter((b) => b.enabled);
  if (input.builder !== null) {
    const chosen = findBuilder(state.fleet, input.builder);
    if (!chosen)
      throw noSuchBuilder(
        [input.builder],
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
    // --max-jobs 0: this machine builds nothing itself.
    local = { ...local, maxJobs: 0 };
  }

  ctx.progress("Evaluating what must be built…");
  // Reaching the builders overlaps with evaluation; it cannot wait to know which systems matter.
  const healthPromise = builderHealth(host, candidates, input.timeoutSeconds);
  const toBuild = await derivationsToBuild(host, installables, nixArgs).catch(async (error: unknown) => {
    await healthPromise;
    throw error;
  });
  const info = await derivationInfo(host, state.info.nix.version?.nix ?? null, toBuild);
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

  const names = (machine: string) => {
    if (machine === "") return "local";
    const builder = state.fleet.find((b) => b.entry.uri === machine || b.uri === normalizeStoreUri(machine));
    return builder?.name ?? machine;
  };
  const tracker = new NixLogTracker();
  let pending = "";
  const run = await runNix(host, ["build", "--log-format", "internal-json", "--json", ...installables, ...nixArgs], {
    onStderr: (chunk) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const event = tracker.feed(line, performance.now());
        if (event) observe(event, names);
      }
    },
  });
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
    await forgetBuilders(
      host,
      candidates.filter((b) => unreachable.has(b.name)),
    );
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
  return { outputs, builds, substituted, copied: tracker.copied, seconds, routes: coverage.routes };
}
