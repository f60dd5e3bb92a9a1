// `crossnix bench`: the benchmark derivation on each builder one at a time and N at a time, SSH
// round trip and copy rates, stored in bench.jsonl. Nothing here schedules builds: Nix does.
import path from "node:path";
import type { Context } from "../../context.js";
import type { FleetBuilder } from "../../core/builders/fleet.js";
import { BENCH_UNIT_ITERATIONS } from "../../core/bench/derivation.js";
import { type BenchRun, type BuilderBench, type SystemBench, spread, systemBench } from "../../core/bench/results.js";
import { builderChecks } from "../../core/doctor/builder.js";
import { effectiveMaxJobs } from "../../core/formats/machines/index.js";
import { nixSystemFor } from "../../core/nix/systems.js";
import { isTrustedUser } from "../../core/nix/trust.js";
import { CrossnixError, noSuchBuilder } from "../../errors.js";
import { type BenchPlace, timeBenchBuild, timeRoundTrip, timeTransfer } from "../../host/bench/measure.js";
import { gatherBuilder } from "../../host/doctor/builder.js";
import { localCapability } from "../../host/nix/local-capability.js";
import { type ConfigState, loadConfigState } from "../../host/state.js";
import type { Host } from "../../host/system/host.js";
import { appendRecord, userStateDir } from "../../host/system/records.js";
import { currentUser } from "../../host/system/user.js";
import { recordNixBuildRun } from "../build-history.js";
import { withNixOnPath } from "../doctor.js";

export interface BenchInput {
  /** Builders to measure; []: every builder in the machines files. */
  names: string[];
  /** Derivations at once in the parallel round; null: each entry's max-jobs. */
  jobs: number | null;
  /** Timed runs of each measurement. */
  runs: number;
  /** Loop iterations in one unit (tests and benchmarks shorten it). */
  iterations?: number;
  /** Only these systems of each builder; []: all its systems. */
  systems?: string[];
}

/** Doctor's checks that decide whether Nix can reach a builder at all: one failing means no bench. */
const CONNECT_CHECKS = new Set([
  "builder.connect",
  "builder.host-key",
  "builder.identity",
  "builder.auth",
  "builder.remote-program",
  "builder.login-shell",
  "builder.trust",
]);

const TRANSFER_BYTES = 8 * 2 ** 20;
const BUILD_TIMEOUT_SECONDS = 600;

export function benchRecordFile(host: Host): string {
  return path.join(userStateDir(host), "bench.jsonl");
}

function skipped(b: FleetBuilder, reason: string): BuilderBench {
  return {
    name: b.name,
    status: "skipped",
    reason,
    cpus: null,
    nixVersion: null,
    roundTrip: null,
    upload: null,
    download: null,
    systems: [],
  };
}

/** The builders asked for (an unknown name is exit 2), or every one in the machines files. */
export function chooseBuilders(state: ConfigState, names: string[]): FleetBuilder[] {
  const unknown = names.filter((n) => !state.fleet.some((b) => b.name === n));
  if (unknown.length)
    throw noSuchBuilder(
      unknown,
      state.fleet.map((b) => b.name),
    );
  return names.length ? state.fleet.filter((b) => names.includes(b.name)) : state.fleet;
}

/** Runs the benchmark; under --dry-run it still measures (that changes nothing) but records nothing. */
export async function runBench(
  ctx: Pick<Context, "host" | "options" | "progress" | "warn">,
  input: BenchInput,
): Promise<{ run: BenchRun; state: ConfigState; recordFile: string | null }> {
  const host = withNixOnPath(ctx.host);
  const state = await loadConfigState(host);
  const chosen = chooseBuilders(state, input.names);
  const local = await localCapability(host, state.info);
  const user = currentUser();
  if (state.info.mode === "daemon" && host.uid !== 0 && !isTrustedUser(local.trustedUsers, user.name, user.groups)) {
    throw new CrossnixError(
      "PERMISSION",
      `bench builds on one builder at a time with --builders, which the Nix daemon accepts only from a trusted user; ${user.name} is not in trusted-users (${local.trustedUsers.join(" ")})`,
      { hint: "run it with sudo", nothingWritten: true },
    );
  }
  const localSystem = nixSystemFor(host.platform, host.arch);
  const results = new Map<string, BuilderBench>();
  const eligible: FleetBuilder[] = [];
  for (const b of chosen) {
    if (!b.enabled) results.set(b.name, skipped(b, `disabled at ${b.file}:${b.line}; Nix does not use it`));
    else if (b.protocol === "other") results.set(b.name, skipped(b, `${b.uri} is not an SSH builder`));
    else eligible.push(b);
  }
  if (eligible.length) ctx.progress(`Checking ${eligible.length} builder(s) as the Nix daemon connects…`);
  const context = {
    localSystem,
    localNixVersion: state.info.nix.version?.nix ?? null,
    useSubstitutes: true,
    mode: state.info.mode,
    user: host.uid === 0 ? "root" : user.name,
  };
  const gathered = await Promise.all(
    eligible.map(async (b) => ({ b, facts: await gatherBuilder(host, b, { timeoutSeconds: ctx.options.timeout }) })),
  );
  const iterations = input.iterations ?? BENCH_UNIT_ITERATIONS;
  for (const { b, facts } of gathered) {
    const failing = builderChecks(b, facts, context).filter((c) => c.status === "fail" && CONNECT_CHECKS.has(c.id));
    if (failing.length) {
      results.set(
        b.name,
        skipped(b, `fails doctor's connect checks: ${failing.map((c) => `${c.id}: ${c.observed}`).join("; ")}`),
      );
      continue;
    }
    const probe = facts.probe?.ok ? facts.probe.facts : null;
    results.set(
      b.name,
      await benchBuilder(ctx, host, b, {
        cpus: probe?.cpus ?? null,
        nixVersion: probe?.nixVersion ?? null,
        systems: (b.entry.systems.length ? b.entry.systems : [localSystem]).filter(
          (s) => !input.systems?.length || input.systems.includes(s),
        ),
        jobs: input.jobs ?? Math.max(1, effectiveMaxJobs(b.entry)),
        runs: input.runs,
        iterations,
        viaDaemon: state.info.mode === "daemon",
      }),
    );
  }
  const run: BenchRun = {
    kind: "bench",
    version: 1,
    at: host.now().toISOString(),
    unitIterations: iterations,
    runs: input.runs,
    builders: chosen.map((b) => results.get(b.name)!),
  };
  let recordFile: string | null = null;
  if (!ctx.options.dryRun && run.builders.some((b) => b.status === "measured")) {
    recordFile = benchRecordFile(host);
    appendRecord(recordFile, run);
  }
  return { run, state, recordFile };
}

/** One builder, measurement after measurement; the first failure ends it (the builder went away). */
async function benchBuilder(
  ctx: Pick<Context, "options" | "progress" | "warn">,
  host: Host,
  b: FleetBuilder,
  o: {
    cpus: number | null;
    nixVersion: string | null;
    systems: string[];
    jobs: number;
    runs: number;
    iterations: number;
    viaDaemon: boolean;
  },
): Promise<BuilderBench> {
  const result: BuilderBench = {
    name: b.name,
    status: "measured",
    reason: null,
    cpus: o.cpus,
    nixVersion: o.nixVersion,
    roundTrip: null,
    upload: null,
    download: null,
    systems: [],
  };
  const fail = (step: string, why: string): BuilderBench => {
    ctx.warn(`crossnix: ${b.name} failed during the ${step}: ${why}; it is left out.`);
    return { ...result, status: "failed", reason: `${step}: ${why}` };
  };
  ctx.progress(`${b.name}: SSH round trip and copy rates…`);
  const trips: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t = await timeRoundTrip(host, b, ctx.options.timeout);
    if (!t.ok) return fail("SSH round trip", t.why);
    trips.push(t.seconds);
  }
  result.roundTrip = spread(trips);
  for (const direction of ["upload", "download"] as const) {
    const t = await timeTransfer(host, b, direction, TRANSFER_BYTES, result.roundTrip.median, BUILD_TIMEOUT_SECONDS);
    if (!t.ok) return fail(`${direction} measurement`, t.why);
    result[direction] = t.bytesPerSecond;
  }
  for (const system of o.systems) {
    ctx.progress(`${b.name}: ${system}, the benchmark 1 at a time and ${o.jobs} at a time (${o.runs} runs)…`);
    const measured = await measureSystem(host, { kind: "builder", builder: b }, system, o);
    if (!measured.ok) return fail(`${system} benchmark build`, measured.why);
    result.systems.push(measured.bench);
  }
  return result;
}

/**
 * One system in one place: a build doing no work (first-build latency), one unit, then `jobs` units
 * at once, `runs` times, interleaved so a change in the machine's load hits each alike.
 */
export async function measureSystem(
  host: Host,
  place: BenchPlace,
  system: string,
  o: { jobs: number; runs: number; iterations: number; viaDaemon: boolean },
): Promise<{ ok: true; bench: SystemBench } | { ok: false; why: string }> {
  const raw = { latency: [] as number[], one: [] as number[], parallel: [] as number[] };
  const steps = [
    ["latency", 1, 0],
    ["one", 1, o.iterations],
    ["parallel", o.jobs, o.iterations],
  ] as const;
  for (let i = 0; i < o.runs; i++) {
    for (const [key, count, iterations] of steps) {
      const t = await timeBenchBuild(host, place, system, {
        count,
        iterations,
        viaDaemon: o.viaDaemon,
        timeoutSeconds: BUILD_TIMEOUT_SECONDS,
      });
      recordNixBuildRun(host, {
        via: "bench",
        builder: place.kind === "builder" ? place.builder.name : "local",
        builderUri: place.kind === "builder" ? place.builder.uri : null,
        system,
        stderr: t.log,
        ok: t.ok,
        durationMs: t.seconds * 1000,
      });
      if (!t.ok) return { ok: false, why: t.why };
      raw[key].push(t.seconds);
    }
  }
  return { ok: true, bench: systemBench(system, o.jobs, raw) };
}
