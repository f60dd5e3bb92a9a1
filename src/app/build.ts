// The `crossnix build` use case: checks that every derivation has somewhere to build (with a short
// builder-health cache), runs Nix while following its internal-json log (the build view's state
// machine), reports which builder built what with true timings, and records the build history.
import type { Context } from "../context.js";
import { daemonSshTarget, type FleetBuilder, findBuilder } from "../core/builders/fleet.js";
import {
  type BuilderHealth,
  type CandidateBuilder,
  type Coverage,
  checkCoverage,
  type DerivationNeed,
} from "../core/build/coverage.js";
import { BuildTracker, type Change, type DrvState, type FetchState } from "../core/build/fleet-state.js";
import { makePredictor } from "../core/build/history.js";
import { parseNixLine } from "../core/build/internal-json.js";
import { formatEntry } from "../core/formats/machines/index.js";
import { isTrustedUser } from "../core/nix/trust.js";
import { CrossnixError, noSuchBuilder } from "../errors.js";
import { type ProbeRecord, readProbeCache, writeProbeCache } from "../host/builders/probe-cache.js";
import { localCapability } from "../host/nix/local-capability.js";
import { readDerivations } from "../host/nix/derivations.js";
import { dryRunPlan, runNix } from "../host/nix/nix.js";
import { loadConfigState } from "../host/state.js";
import type { Host } from "../host/system/host.js";
import { currentUser } from "../host/system/user.js";
import { readBuildHistory, recordBuilds } from "./build-history.js";

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
  /** Who built what, by crossnix name ("local" for this machine), with true timings (ms split). */
  builds: {
    drv: string;
    name: string;
    builder: string;
    outcome: DrvState["outcome"];
    seconds: number | null;
    copyInMs: number;
    buildMs: number;
    copyOutMs: number;
  }[];
  substituted: string[];
  /** Paths fetched from caches: which cache, how many bytes (0 when Nix gave only the total). */
  fetched: { path: string; from: string; bytes: number }[];
  /** Bytes fetched from caches in all. */
  fetchedBytes: number;
  seconds: number;
  routes: Coverage["routes"];
}

/** Follows a build as it runs: each state change, with the tracker for the whole picture. */
export interface BuildObserver {
  change(change: Change, tracker: BuildTracker): void;
  /** Nix has exited (also on failure and interrupt, before the error is thrown). */
  end(tracker: BuildTracker, outcome: { exitCode: number | null; interrupted: boolean; seconds: number }): void;
}

const ignore: BuildObserver = { change: () => {}, end: () => {} };

/**
 * Builder health is remembered briefly, so back-to-back builds do not pay for an SSH round trip to
 * every builder each time. Only answers are remembered (a builder that was down is asked again),
 * keyed by the entry's URI and pinned key so a changed entry is asked afresh; a builder Nix then
 * fails to reach is forgotten.
 */
const HEALTH_TTL_MS = 30_000;

const cacheKey = (b: FleetBuilder) => `${b.name}\0${b.uri}\0${b.hostKeyLine ?? ""}`;

/** The remembered answers still fresh at `now`, each with when it was learned. */
async function freshHealth(now: number): Promise<Map<string, ProbeRecord>> {
  const records = await readProbeCache();
  return new Map([...records].filter(([, r]) => typeof r?.at === "number" && now - r.at < HEALTH_TTL_MS));
}

/** Stores these answers (only those of builders that answered), each with its own time. */
async function rememberHealth(records: Map<string, ProbeRecord>): Promise<void> {
  await writeProbeCache(new Map([...records].filter(([, r]) => r.health.state === "ok")));
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
  const fresh = new Map<string, ProbeRecord>();
  await Promise.all(
    builders.map(async (b) => {
      const cached = cache.get(cacheKey(b));
      if (cached) {
        health.set(b.name, cached.health);
        return;
      }
      // The SSH probe loads only when some answer is not remembered.
      const { reachBuilder } = await import("../host/builders/probe.js");
      const outcome = await reachBuilder(host, daemonSshTarget(b), { timeoutSeconds });
      const h: BuilderHealth = outcome.ok
        ? { state: "ok" }
        : { state: "down", reason: `${outcome.failure.summary} (${outcome.failure.evidence})` };
      health.set(b.name, h);
      fresh.set(cacheKey(b), { at: now, health: h });
    }),
  );
  if (fresh.size) await rememberHealth(new Map([...cache, ...fresh]));
  return health;
}

/** After Nix could not reach some builders, drop them from the cache so the next run asks again. */
async function forgetBuilders(host: Host, builders: FleetBuilder[]): Promise<void> {
  if (builders.length === 0) return;
  const cache = await freshHealth(host.now().getTime());
  for (const b of builders) cache.delete(cacheKey(b));
  await rememberHealth(cache);
}

/**
 * A builder Nix just built on answered the daemon's own SSH connection: as good an answer as a
 * probe, so it is remembered as of now and back-to-back builds keep finding it fresh.
 */
async function confirmBuilders(host: Host, builders: FleetBuilder[]): Promise<void> {
  if (host.uid !== 0 || builders.length === 0) return;
  const now = host.now().getTime();
  const cache = await freshHealth(now);
  for (const b of builders) cache.set(cacheKey(b), { at: now, health: { state: "ok" } });
  await rememberHealth(cache);
}

/**
 * Predictions from the build history, read the first time one is asked for (the live view's ETA),
 * not before Nix starts: the history grows with every build and is not needed to start one.
 */
function lazyPredictor(host: Host): (name: string, builder: string | null) => number | null {
  let predict: ReturnType<typeof makePredictor> | null = null;
  return (name, builder) => {
    predict ??= makePredictor(readBuildHistory(host));
    return predict(name, builder);
  };
}

/** What the checks before a build found: where it may go and what it will build. */
interface CheckedBuild {
  candidates: FleetBuilder[];
  nixArgs: string[];
  plan: { toBuild: string[]; toFetch: string[] };
  systems: Map<string, string>;
  coverage: Coverage;
}

/**
 * The checks that may refuse a build before Nix starts it: Nix installed, --builder known and
 * allowed, and every derivation to build covered by a healthy builder or this machine.
 */
async function checkBeforeBuild(
  ctx: Pick<Context, "host" | "progress">,
  input: BuildInput,
  baseArgs: string[],
  planPromise: Promise<{ toBuild: string[]; toFetch: string[] }>,
): Promise<CheckedBuild> {
  const { host } = ctx;
  const state = await loadConfigState(host);
  if (!state.info.nix.present)
    throw new CrossnixError("NIX", "nix is not installed or not on PATH", { hint: "install Determinate Nix" });
  let local = await localCapability(host, state.info);
  const nixArgs = [...baseArgs];

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
  const plan = await planPromise.catch(async (error: unknown) => {
    await healthPromise;
    throw error;
  });
  const info = await readDerivations(host, state.info.nix.version?.nix ?? null, plan.toBuild);
  const needs: DerivationNeed[] = plan.toBuild.map((drv) => ({
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
  const systems = new Map([...info].map(([drv, i]) => [drv, i.system]));
  return { candidates, nixArgs, plan, systems, coverage };
}

/**
 * Builds through the fleet: first checks that every derivation to build has a healthy builder
 * (or this machine) that can take it, and refuses to start otherwise; then runs nix build,
 * following who builds what. A failed build is decoded (diagnoseNixOutput) into the error.
 */
export async function runBuild(
  ctx: Pick<Context, "host" | "progress">,
  input: BuildInput,
  observe: BuildObserver = ignore,
): Promise<BuildResult> {
  const started = performance.now();
  const { host } = ctx;
  const installables = input.installables.length || input.passthrough.length ? input.installables : ["."];
  const baseArgs = [...input.passthrough, ...(input.system ? ["--system", input.system] : [])];
  // What must be built does not depend on the builders (they decide where, not what), so the dry
  // run starts at once, while the configuration is read; it is stopped if the checks refuse first.
  const evaluation = new AbortController();
  const planPromise = dryRunPlan(host, installables, baseArgs, { signal: evaluation.signal });
  planPromise.catch(() => {}); // awaited in checkBeforeBuild; an earlier refusal must not leave it unhandled
  let checked: CheckedBuild;
  try {
    checked = await checkBeforeBuild(ctx, input, baseArgs, planPromise);
  } catch (error) {
    evaluation.abort();
    throw error;
  }
  const { candidates, nixArgs, plan, coverage } = checked;

  const tracker = new BuildTracker({
    machines: candidates.map((b) => ({ name: b.name, uris: [b.entry.uri, b.uri], maxJobs: b.entry.maxJobs ?? 1 })),
    planned: plan,
    predict: lazyPredictor(host),
  });
  const run = await followNix(
    host,
    ["build", "--log-format", "internal-json", "--json", ...installables, ...nixArgs],
    tracker,
    observe,
  );
  const seconds = (performance.now() - started) / 1000;
  observe.end(tracker, { exitCode: run.exitCode, interrupted: run.interrupted, seconds });
  try {
    recordBuilds(host, {
      id: `${host.now().toISOString()}-${process.pid}`,
      via: "build",
      builds: tracker.builds,
      systems: checked.systems,
    });
  } catch (error) {
    // History is a convenience: a full disk or a read-only home must not fail the build.
    ctx.progress(`could not record the build history: ${String(error)}`);
  }
  const builtOn = new Set(tracker.builds.filter((b) => b.outcome === "built").map((b) => b.builder));
  await confirmBuilders(
    host,
    candidates.filter((b) => builtOn.has(b.name)),
  );
  const builds = tracker.builds.map((b) => {
    const totalMs = b.endedMs === null ? null : b.endedMs - b.startedMs;
    return {
      drv: b.drv,
      name: b.name,
      builder: b.builder,
      outcome: b.outcome,
      seconds: totalMs === null ? null : totalMs / 1000,
      copyInMs: b.copyInMs,
      buildMs: totalMs === null ? 0 : Math.max(0, totalMs - b.copyInMs - b.copyOutMs),
      copyOutMs: b.copyOutMs,
    };
  });
  const fetched = tracker.fetched.map((f: FetchState) => ({ path: f.path, from: f.from, bytes: f.bytes }));

  if (run.interrupted) {
    throw new CrossnixError("INTERRUPTED", "interrupted: Nix stopped the build", {
      exitCode: 130,
      detail: { builds, fetched },
    });
  }
  if (run.exitCode !== 0) {
    // The diagnosis modules load only when a build failed: they are not on a build's start path.
    const { diagnoseNixOutput } = await import("../core/diagnosis/index.js");
    const diagnoses = diagnoseNixOutput(tracker.messages.join("\n"));
    const first = diagnoses[0];
    const unreachable = new Set(
      diagnoses.filter((d) => d.builder && d.cause !== "build-failed").map((d) => tracker.builderName(d.builder!)),
    );
    await forgetBuilders(
      host,
      candidates.filter((b) => unreachable.has(b.name)),
    );
    throw new CrossnixError(
      "NIX",
      first
        ? `the build failed: ${first.summary}${first.builder ? ` (${tracker.builderName(first.builder)})` : ""}`
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
  return {
    outputs,
    builds,
    substituted: fetched.map((f) => f.path),
    fetched,
    fetchedBytes: tracker.fetchedBytes,
    seconds,
    routes: coverage.routes,
  };
}

/**
 * Runs nix with internal-json logs, feeding each line to the tracker as it arrives. Ctrl-C (and
 * SIGTERM) is passed on to Nix's process group as SIGINT, so Nix stops its builds and hooks itself
 * and nothing is left running; crossnix then ends the view and exits 130.
 */
async function followNix(
  host: Host,
  args: string[],
  tracker: BuildTracker,
  observe: BuildObserver,
): Promise<{ exitCode: number | null; stdout: string; interrupted: boolean }> {
  let pending = "";
  const feed = (line: string) => {
    const event = parseNixLine(line);
    if (!event) return;
    for (const change of tracker.apply(event, Date.now())) observe.change(change, tracker);
  };
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    tracker.interrupt();
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const run = await runNix(host, args, {
      signal: abort.signal,
      abortWith: "SIGINT",
      timeoutMs: 24 * 3600_000,
      onStderr: (chunk) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) feed(line);
      },
    });
    if (pending) feed(pending);
    for (const change of tracker.finish(run.exitCode, Date.now())) observe.change(change, tracker);
    return { exitCode: run.exitCode, stdout: run.stdout, interrupted };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
