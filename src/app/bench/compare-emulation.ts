// `bench --compare`'s emulation rows: each system this machine builds through binfmt_misc (qemu-user),
// timed with crossnix's machine-code loop program of that CPU, beside the same loop run natively.
import { hasLoopElf, LOOPS_PER_ITERATION } from "../../core/bench/loop-elf.js";
import { type SystemBench, systemBench } from "../../core/bench/results.js";
import { entryFor } from "../../core/emulation/binfmt.js";
import { emulatedCpu, nativeSystems } from "../../core/emulation/systems.js";
import { timeLoopBuild } from "../../host/bench/measure.js";
import { readBinfmt } from "../../host/emulation/binfmt.js";
import type { Host } from "../../host/system/host.js";
import type { CompareRow } from "./compare.js";

const TIMEOUT_SECONDS = 600;

export { LOOPS_PER_ITERATION };

interface LoopOptions {
  jobs: number;
  runs: number;
  iterations: number;
  viaDaemon: boolean;
}

/** A build of the 1-step loop (first-build latency), one unit, then `jobs` units at once, `runs` times. */
async function measureLoop(
  host: Host,
  system: string,
  o: LoopOptions & { parallel: boolean },
): Promise<{ ok: true; bench: SystemBench } | { ok: false; why: string }> {
  const loops = o.iterations * LOOPS_PER_ITERATION;
  const raw = { latency: [] as number[], one: [] as number[], parallel: [] as number[] };
  const steps = [
    ["latency", 1, 1],
    ["one", 1, loops],
    ...(o.parallel ? [["parallel", o.jobs, loops] as const] : []),
  ] as const;
  for (let i = 0; i < o.runs; i++) {
    for (const [key, count, n] of steps) {
      const t = await timeLoopBuild(host, system, {
        count,
        loops: n,
        viaDaemon: o.viaDaemon,
        timeoutSeconds: TIMEOUT_SECONDS,
      });
      if (!t.ok) return { ok: false, why: t.why };
      raw[key].push(t.seconds);
    }
  }
  if (!o.parallel) raw.parallel = raw.one;
  return { ok: true, bench: systemBench(system, o.parallel ? o.jobs : 1, raw) };
}

const cpuFamily = (system: string) => {
  const cpu = system.split("-")[0] ?? "";
  return /^(x86_64|i[3-6]86)$/.test(cpu) ? "x86" : /^(aarch64|armv[5-7]l)$/.test(cpu) ? "arm" : cpu;
};

/** Rows for the systems in `systems` (this machine's system and extra-platforms) that run emulated. */
export async function emulationRows(
  host: Host,
  native: string,
  systems: string[],
  o: LoopOptions,
  progress: (line: string) => void,
): Promise<CompareRow[]> {
  const emulated = systems.filter((s) => !nativeSystems(native).includes(s) && cpuFamily(s) !== cpuFamily(native));
  if (emulated.length === 0) return [];
  const binfmt = await readBinfmt(host);
  let reference: { unit: number } | { why: string } | null = null;
  const rows: CompareRow[] = [];
  for (const system of emulated) {
    const cpu = emulatedCpu(system);
    const entry = cpu ? entryFor(binfmt.entries, cpu) : null;
    const via = entry
      ? `binfmt_misc '${entry.name}' → ${entry.interpreter} (flags ${entry.flags || "-"})`
      : "in extra-platforms, but no binfmt_misc entry runs it";
    const base = {
      approach: "emulation" as const,
      name: "local",
      system,
      unitKind: "machine-code-loop" as const,
      jobs: o.jobs,
    };
    if (!hasLoopElf(system)) {
      rows.push({
        ...base,
        measured: false,
        why: `crossnix has no loop program for ${system}`,
        unit: null,
        throughput: null,
        firstBuild: null,
        setup: via,
      });
      continue;
    }
    if (reference === null) {
      // The same loop on this machine's own CPU, so the emulation's cost reads as a slowdown.
      progress(`this machine: the machine-code loop natively (${native}), to compare emulation with…`);
      const r = hasLoopElf(native)
        ? await measureLoop(host, native, { ...o, parallel: false })
        : { ok: false as const, why: `crossnix has no loop program for ${native}` };
      reference = r.ok ? { unit: r.bench.unit.median } : { why: r.why };
    }
    progress(`emulation: ${system}, the loop 1 at a time and ${o.jobs} at a time…`);
    const m = await measureLoop(host, system, { ...o, parallel: true });
    const ref = reference;
    const slowdown = m.ok && "unit" in ref ? m.bench.unit.median / ref.unit : null;
    const versus =
      "unit" in ref
        ? `; the same loop natively ${ref.unit.toFixed(2)} s${slowdown ? `, so ${slowdown.toFixed(1)}× slower emulated` : ""}`
        : `; not run natively: ${ref.why}`;
    rows.push(
      m.ok
        ? {
            ...base,
            measured: true,
            why: null,
            unit: m.bench.unit,
            throughput: m.bench.throughputParallel,
            firstBuild: m.bench.latency,
            setup: `${via}${versus}`,
          }
        : { ...base, measured: false, why: m.why, unit: null, throughput: null, firstBuild: null, setup: via },
    );
  }
  return rows;
}
