// `crossnix bench --compare`: the same benchmark through every approach this machine has — each SSH
// builder, crossnix's VMs (SSH builders too), this machine itself, emulation, Determinate's native
// Linux builder — measured, not guessed; an approach that is not here says why, from detection.
import os from "node:os";
import type { Context } from "../../context.js";
import type { BenchRun, Spread } from "../../core/bench/results.js";
import { localCapability } from "../../host/nix/local-capability.js";
import { readVmRecords } from "../../host/vm/records.js";
import { machineStatus } from "../approaches/status.js";
import { withNixOnPath } from "../doctor.js";
import { emulationRows } from "./compare-emulation.js";
import { type BenchInput, measureSystem, runBench } from "./run.js";

export interface CompareRow {
  approach: "ssh-builder" | "vm" | "local" | "emulation" | "native-builder";
  name: string;
  system: string;
  measured: boolean;
  /** Why it was not measured. */
  why: string | null;
  /**
   * What a unit is: the shell loop in the builder's own /bin/sh, or (emulation) crossnix's
   * machine-code loop program of the emulated CPU, which only binfmt_misc runs.
   */
  unitKind: "shell-loop" | "machine-code-loop";
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
  const vms = await readVmRecords(ctx.host).catch(() => []);
  const rows: CompareRow[] = run.builders.flatMap((b): CompareRow[] => {
    const vm = vms.find((v) => v.builderName === b.name);
    const approach = vm ? ("vm" as const) : ("ssh-builder" as const);
    const setup = `${vm ? `crossnix VM '${vm.name}' (Lima, ${vm.cpus ?? "?"} CPUs, ${vm.memoryGiB ?? "?"} GiB${vm.rosetta ? ", Rosetta" : ""}) over ` : ""}SSH; Nix ${b.nixVersion ?? "?"}, ${b.cpus ?? "?"} CPUs; round trip ${b.roundTrip ? `${b.roundTrip.median.toFixed(2)} s` : "?"}; copies ${mib(b.upload)} up, ${mib(b.download)} down`;
    if (b.status !== "measured") {
      return [
        {
          approach,
          name: b.name,
          system: "-",
          unitKind: "shell-loop" as const,
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
      approach,
      name: b.name,
      system: s.system,
      unitKind: "shell-loop" as const,
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
          unitKind: "shell-loop",
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
          unitKind: "shell-loop",
          measured: false,
          why: measured.why,
          unit: null,
          jobs,
          throughput: null,
          firstBuild: null,
          setup: localSetup,
        },
  );
  rows.push(
    ...(await emulationRows(
      host,
      native,
      local.systems,
      { jobs, runs: input.runs, iterations: run.unitIterations, viaDaemon: state.info.mode === "daemon" },
      ctx.progress,
    )),
  );
  rows.push(await nativeBuilderRow(ctx, input, run.unitIterations, state.info.mode === "daemon"));
  return { rows, bench: run };
}

/**
 * Determinate Nix's native Linux builder (macOS only): when detection says it is active, a local
 * build of a Linux system goes to it, so the shell-loop unit is timed there; otherwise the reason.
 */
async function nativeBuilderRow(
  ctx: Pick<Context, "host" | "options" | "progress">,
  input: BenchInput,
  iterations: number,
  viaDaemon: boolean,
): Promise<CompareRow> {
  const base = {
    approach: "native-builder" as const,
    name: "native",
    unitKind: "shell-loop" as const,
    jobs: 0,
    unit: null,
    throughput: null,
    firstBuild: null,
  };
  if (ctx.host.platform !== "darwin") {
    return {
      ...base,
      system: "-",
      measured: false,
      why: `Determinate Nix's native Linux builder runs on macOS only; this machine runs ${ctx.host.platform}`,
      setup: "detection: not macOS",
    };
  }
  const status = await machineStatus(ctx, { probe: false, timeoutSeconds: ctx.options.timeout });
  const n = status.native;
  const setup = `Determinate Nix ${n.version ?? "?"}; systems ${n.systems.join(", ") || "-"}`;
  const system = n.systems.find((s) => s.endsWith("-linux"));
  if (!n.active || !system) {
    return {
      ...base,
      system: system ?? "-",
      measured: false,
      why: n.reason ? `${n.reason.message} (${n.reason.fix})` : "detection did not find it active",
      setup,
    };
  }
  const jobs = input.jobs ?? 2;
  ctx.progress(`native Linux builder: ${system}, the benchmark 1 at a time and ${jobs} at a time…`);
  const m = await measureSystem(withNixOnPath(ctx.host), { kind: "local" }, system, {
    jobs,
    runs: input.runs,
    iterations,
    viaDaemon,
  });
  return m.ok
    ? {
        ...base,
        system,
        jobs,
        measured: true,
        why: null,
        unit: m.bench.unit,
        throughput: m.bench.throughputParallel,
        firstBuild: m.bench.latency,
        setup,
      }
    : { ...base, system, measured: false, why: m.why, setup };
}
