// `crossnix bench --compare`: the same benchmark through every approach this machine has — each SSH
// builder (VMs included: they are SSH builders), this machine itself, emulation — measured, not guessed.
import os from "node:os";
import type { Context } from "../../context.js";
import type { BenchRun, Spread } from "../../core/bench/results.js";
import { localCapability } from "../../host/nix/local-capability.js";
import { withNixOnPath } from "../doctor.js";
import { type BenchInput, measureSystem, runBench } from "./run.js";

export interface CompareRow {
  approach: "ssh-builder" | "local" | "emulation";
  name: string;
  system: string;
  measured: boolean;
  /** Why it was not measured. */
  why: string | null;
  /** Seconds per benchmark unit, one at a time. */
  unit: Spread | null;
  jobs: number;
  /** Units per second with `jobs` at once. */
  throughput: number | null;
  /** A build that does no work: SSH, hook and copies for a builder; the daemon's own cost locally. */
  firstBuild: Spread | null;
  /** What detection says about the approach. */
  setup: string;
}

export interface CompareResult {
  rows: CompareRow[];
  bench: BenchRun;
}

const mib = (x: number | null) => (x === null ? "?" : `${(x / 2 ** 20).toFixed(0)} MiB/s`);

export async function runCompare(
  ctx: Pick<Context, "host" | "options" | "progress" | "warn">,
  input: BenchInput,
): Promise<CompareResult> {
  const { run, state } = await runBench(ctx, input);
  const rows: CompareRow[] = run.builders.flatMap((b): CompareRow[] => {
    const setup = `SSH; Nix ${b.nixVersion ?? "?"}, ${b.cpus ?? "?"} CPUs; round trip ${b.roundTrip ? `${b.roundTrip.median.toFixed(2)} s` : "?"}; copies ${mib(b.upload)} up, ${mib(b.download)} down`;
    if (b.status !== "measured") {
      return [
        {
          approach: "ssh-builder" as const,
          name: b.name,
          system: "-",
          measured: false,
          why: b.reason,
          unit: null,
          jobs: 0,
          throughput: null,
          firstBuild: null,
          setup,
        },
      ];
    }
    return b.systems.map((s) => ({
      approach: "ssh-builder" as const,
      name: b.name,
      system: s.system,
      measured: true,
      why: null,
      unit: s.unit,
      jobs: s.jobs,
      throughput: s.throughputParallel,
      firstBuild: s.latency,
      setup,
    }));
  });
  const host = withNixOnPath(ctx.host);
  const local = await localCapability(host, state.info);
  const cpus = os.availableParallelism();
  const jobs = input.jobs ?? cpus;
  const localSetup = `this machine; Nix ${state.info.nix.version?.nix ?? "?"} (${state.info.mode}), ${cpus} CPUs`;
  const native = state.info.system;
  ctx.progress(`this machine: ${native}, the benchmark 1 at a time and ${jobs} at a time…`);
  const measured = await measureSystem(host, { kind: "local" }, native, {
    jobs,
    runs: input.runs,
    iterations: run.unitIterations,
    viaDaemon: state.info.mode === "daemon",
  });
  rows.push(
    measured.ok
      ? {
          approach: "local",
          name: "local",
          system: native,
          measured: true,
          why: null,
          unit: measured.bench.unit,
          jobs,
          throughput: measured.bench.throughputParallel,
          firstBuild: measured.bench.latency,
          setup: localSetup,
        }
      : {
          approach: "local",
          name: "local",
          system: native,
          measured: false,
          why: measured.why,
          unit: null,
          jobs,
          throughput: null,
          firstBuild: null,
          setup: localSetup,
        },
  );
  const family = (system: string) => {
    const cpu = system.split("-")[0] ?? "";
    return /^(x86_64|i[3-6]86)$/.test(cpu) ? "x86" : /^(aarch64|armv[5-7]l)$/.test(cpu) ? "arm" : cpu;
  };
  for (const system of local.systems.slice(1)) {
    // i686 on x86_64 (and 32-bit ARM on some aarch64) runs natively, not emulated.
    if (family(system) === family(native)) continue;
    // The benchmark's builder is /bin/sh, a program of this machine's own architecture: under
    // extra-platforms it runs natively, so timing it would say nothing about emulation.
    rows.push({
      approach: "emulation",
      name: "local",
      system,
      measured: false,
      why: `listed in extra-platforms, but the benchmark's /bin/sh is a ${native.split("-")[0]} program, so it would not run emulated`,
      unit: null,
      jobs: 0,
      throughput: null,
      firstBuild: null,
      setup: "extra-platforms (binfmt_misc)",
    });
  }
  return { rows, bench: run };
}
