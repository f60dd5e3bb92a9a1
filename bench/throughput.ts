// Benchmark 5, fleet throughput: what `crossnix bench --calibrate` buys. (1) The 12 × 1 s aarch64
// batch on one 2-slot builder before and after tuning, against the ideal (work / slots + measured
// per-derivation copy cost). (2) Two builders made unequal for real (a CPU quota on one builder's
// sshd cgroup): calibrated speed factors against the true throughput ratio, and a CPU-bound batch
// with calibrated against equal factors. (3) `crossnix build` on the tuned fleet against raw
// `nix build` on the untuned one.
import path from "node:path";
import { type Builder, limitCpu, newNonce } from "#testbed";
import { benchExpression } from "../src/core/bench/derivation.js";
import { batchArgs, type Fleet, NIX_CMD, REPO } from "./fleet.js";
import {
  fmtMs,
  fmtRange,
  ROW_HEADERS,
  row,
  type Section,
  type Summary,
  summarize,
  type Target,
  table,
} from "./stats.js";

const COUNT = 12;
/** The CPU-bound unit for the two-builder batch: ~0.4 s on a free core here. */
const CPU_ITERATIONS = 300_000;
const CPU_BATCH = 12;
/**
 * CPU quotas of the two builders: one whole CPU and a twentieth of one, so the fast one's capacity
 * does not depend on what else runs on this 2-vCPU machine's other CPU, and two units on the slow
 * one take longer than the fast one's share of the batch (else equal factors would cost nothing).
 */
const FAST_CPUS = 1;
const SLOW_CPUS = 0.05;
const BENCH_ARGS = ["--iterations", String(CPU_ITERATIONS), "--jobs", "2", "--system", "x86_64-linux"];

interface Entry {
  maxJobs: number;
  speedFactor: number;
}

export async function throughputBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const { sandbox } = fleet;
  const [n1, n2] = fleet.names as [string, string];
  const [b1, b2] = fleet.builders as [Builder, Builder];
  const machines = () => sandbox.readFile("/etc/nix/machines");
  const entry = (name: string): Entry => {
    const cols = (
      machines()
        .split("\n")
        .find((l) => l.endsWith(`# crossnix:${name}`)) ?? ""
    ).split(/\s+/);
    return { maxJobs: Number(cols[3]), speedFactor: Number(cols[4]) };
  };
  const setEntry = (name: string, maxJobs: number, speedFactor: number) =>
    sandbox.writeFile(
      "/etc/nix/machines",
      machines().replace(
        new RegExp(`^(ssh-ng://\\S+ \\S+ \\S+) \\d+ \\d+(.*# crossnix:${name})$`, "m"),
        `$1 ${maxJobs} ${speedFactor}$2`,
      ),
    );
  /** The untuned state `builder add` leaves: max-jobs = probed CPUs (2), speed factor 1, default poll. */
  const untune = async () => {
    sandbox.writeFile(
      "/etc/nix/machines",
      machines().replace(/^(ssh-ng:\/\/\S+ \S+ \S+) \d+ \d+(.*# crossnix:\S+)$/gm, "$1 2 1$2"),
    );
    sandbox.writeFile(
      "/etc/nix/nix.conf",
      sandbox.readFile("/etc/nix/nix.conf").replace(/^build-poll-interval.*\n/gm, ""),
    );
    await sandbox.restartDaemon();
  };
  /** Three runs each; two on the slow builder, where a unit takes 8 s. */
  const calibrate = async (names: string[], runs = 3, extra: string[] = []) => {
    const r = await fleet.crossnix(
      ["bench", ...names, "--calibrate", "--yes", "--json", "--runs", String(runs), ...BENCH_ARGS, ...extra],
      {
        timeoutMs: 600_000,
      },
    );
    return JSON.parse(r.stdout) as {
      run: { builders: { name: string; systems: { latency: Summary; throughputParallel: number }[] }[] };
      calibration: {
        entries: { name: string; speedFactor: { value: number; why: string } }[];
        pollInterval: { value: number; why: string } | null;
      };
    };
  };
  // As the non-trusted client, through the root daemon: what the issue measured.
  const client = async (argv: string[]) => {
    const r = await sandbox.runAsClient(argv, { timeoutMs: 300_000, env: { NO_COLOR: "1" } });
    if (r.exitCode !== 0)
      throw new Error(`${argv.slice(0, 3).join(" ")} exited ${r.exitCode}: ${r.stderr.slice(-1500)}`);
    return r;
  };
  const timedMs = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const rawBatch = () => timedMs(() => client(["nix", ...NIX_CMD, "build", ...batchArgs(COUNT, 1)]));
  const crossnixBatch = () =>
    timedMs(() => client([process.execPath, path.join(REPO, "dist/cli.js"), "build", "--", ...batchArgs(COUNT, 1)]));

  // (1) and (3): one builder.
  await fleet.enableOnly([n1]);
  await untune();
  log(`throughput: 12 × 1 s on ${n1} untuned`);
  const untunedRaw: number[] = [];
  for (let i = 0; i < runs; i++) untunedRaw.push(await rawBatch());
  log("throughput: calibrating the 1-builder fleet");
  const one = await calibrate([n1]);
  const tuned = entry(n1);
  const latencyS = one.run.builders[0]!.systems[0]!.latency.median;
  const calibratedRaw: number[] = [];
  const calibratedCrossnix: number[] = [];
  for (let i = 0; i < runs; i++) {
    calibratedRaw.push(await rawBatch());
    calibratedCrossnix.push(await crossnixBatch());
  }
  // The issue's case: the same 2-slot entry, with only the daemon's build-poll-interval tuned.
  setEntry(n1, 2, tuned.speedFactor);
  const twoSlotRaw: number[] = [];
  for (let i = 0; i < runs; i++) twoSlotRaw.push(await rawBatch());
  // Tuned for builds that print little: `--calibrate --poll-interval 0` (docs/scheduling.md#poll-interval).
  log(`throughput: calibrating ${n1} with --poll-interval 0`);
  const zeroCalibration = await calibrate([n1], 1, ["--poll-interval", "0"]);
  if (!/^build-poll-interval = 0$/m.test(sandbox.readFile("/etc/nix/nix.conf")))
    throw new Error("--calibrate --poll-interval 0 did not write build-poll-interval = 0");
  setEntry(n1, 2, tuned.speedFactor);
  const twoSlotZero: number[] = [];
  for (let i = 0; i < runs; i++) twoSlotZero.push(await rawBatch());
  const idealMs = (slots: number) => (COUNT / slots) * (1 + latencyS) * 1000;
  const before = summarize(untunedRaw);
  const after = summarize(twoSlotRaw);
  const afterZero = summarize(twoSlotZero);
  const pollZeroWhy = zeroCalibration.calibration.pollInterval?.why;
  const calibratedOne = summarize(calibratedRaw);
  const viaCrossnix = summarize(calibratedCrossnix);

  // (2): two builders, one under a CPU quota.
  await fleet.enableOnly([n1, n2]);
  await untune();
  const quotas = [limitCpu(b1, FAST_CPUS), limitCpu(b2, SLOW_CPUS)];
  try {
    // The true throughput ratio, outside Nix: two loops at once over each builder's own sshd.
    const truth = async (b: Builder) => {
      const loop = `i=0; while [ $i -lt ${CPU_ITERATIONS * 4} ]; do i=$((i+1)); done`;
      const empty = await timedMs(() => b.ssh("true"));
      const ms = await timedMs(() => b.ssh(`(${loop}) & (${loop}) & wait`, { timeoutMs: 300_000 }));
      return 2 / ((ms - empty) / 1000);
    };
    // The true ratio is what the builders really do, measured outside Nix; the quotas' nominal
    // ratio is only what was asked for (a CFS quota also throttles the session's own sshd).
    const nominalRatio = FAST_CPUS / SLOW_CPUS;
    const trueRatio = (await truth(b1)) / (await truth(b2));
    log(`throughput: ratio measured outside Nix ${trueRatio.toFixed(2)}; calibrating the 2-builder fleet`);
    await sandbox.writeFile("/etc/nix/nix.conf", `${sandbox.readFile("/etc/nix/nix.conf")}build-poll-interval = 1\n`);
    await sandbox.restartDaemon();
    const cpuBatch = () => {
      const nonces = Array.from({ length: CPU_BATCH }, () => newNonce().replace(/[^A-Za-z0-9]/g, ""));
      return timedMs(() =>
        client(["nix-build", "--no-out-link", "--expr", benchExpression("x86_64-linux", nonces, CPU_ITERATIONS)]),
      );
    };
    const equal: number[] = [];
    for (let i = 0; i < runs; i++) equal.push(await cpuBatch());
    const two = await calibrate([n1, n2], 2);
    const factors = { [n1]: entry(n1), [n2]: entry(n2) };
    const calibratedRatio = factors[n1]!.speedFactor / factors[n2]!.speedFactor;
    const calibrated: number[] = [];
    for (let i = 0; i < runs; i++) calibrated.push(await cpuBatch());
    const eq = summarize(equal);
    const cal = summarize(calibrated);

    const ratioOff = Math.abs(calibratedRatio / trueRatio - 1);
    const shorter = 1 - cal.median / eq.median;
    const targets: Target[] = [
      {
        text: `12 × 1 s batch on one 2-slot builder after tuning (\`--calibrate --poll-interval 0\`, for builds that print little) within 25% of the ideal (${COUNT} / 2 slots × (1 s + ${latencyS.toFixed(2)} s measured first-build latency) = ${fmtMs(idealMs(2))})`,
        pass: afterZero.median <= idealMs(2) * 1.25,
        detail: `${fmtMs(afterZero.median)} (${(afterZero.median / idealMs(2)).toFixed(2)}× ideal); with the default proposal, build-poll-interval 1: ${fmtMs(after.median)} (${(after.median / idealMs(2)).toFixed(2)}×, Nix's 1 s retry timer for builds waiting on a busy builder); untuned ${fmtMs(before.median)} (${(before.median / idealMs(2)).toFixed(2)}×); with calibrated max-jobs ${tuned.maxJobs} and poll 1: ${fmtMs(calibratedOne.median)} (${(calibratedOne.median / idealMs(tuned.maxJobs)).toFixed(2)}× its ideal ${fmtMs(idealMs(tuned.maxJobs))}). What 0 costs: "Poll interval cost" below and docs/scheduling.md#poll-interval`,
      },
      {
        text: "calibrated speed factors within 20% of the true throughput ratio",
        pass: ratioOff <= 0.2,
        detail: `${n1}:${n2} = ${factors[n1]!.speedFactor}:${factors[n2]!.speedFactor} against ${trueRatio.toFixed(2)} measured outside Nix by two shell loops at once over each builder's sshd (quotas ${FAST_CPUS} and ${SLOW_CPUS} CPU, nominally ${nominalRatio}), ${(ratioOff * 100).toFixed(0)}% off`,
      },
      {
        text: `${CPU_BATCH}-unit CPU batch on the two builders at least 25% shorter with calibration than with equal factors`,
        pass: shorter >= 0.25,
        detail: `${fmtMs(cal.median)} against ${fmtMs(eq.median)} (${(shorter * 100).toFixed(0)}% shorter)`,
      },
      {
        text: "`crossnix build` on the tuned fleet against raw `nix build` on the untuned one (12 × 1 s, one builder)",
        pass: viaCrossnix.median < before.median,
        detail: `${fmtMs(viaCrossnix.median)} against ${fmtMs(before.median)} (${(before.median / viaCrossnix.median).toFixed(2)}× faster)`,
      },
    ];
    return {
      title: "Fleet throughput (bench --calibrate)",
      body: [
        `As the non-trusted client through the root daemon; the local machine has \`max-jobs = 0\`. Tuning is \`crossnix bench --calibrate --yes --runs 3 ${BENCH_ARGS.join(" ")}\` (\`--runs 2\` for the two builders); untuned is what \`builder add\` writes (max-jobs 2 = probed CPUs, speed factor 1, default \`build-poll-interval\` 5).`,
        "",
        `One builder (${n1}), ${COUNT} aarch64-linux derivations sleeping 1 s each (qemu-user busybox). Calibration set build-poll-interval 1 and max-jobs ${tuned.maxJobs} (${n1} has no CPU quota here and shares this machine's 2 vCPUs); "2 slots, poll 1" puts max-jobs back to 2, the issue's case; "poll 0" is \`crossnix bench ${n1} --calibrate --poll-interval 0\` with max-jobs put back to 2 (${pollZeroWhy ?? "no reason given"}).`,
        "",
        table(ROW_HEADERS, [
          row("raw `nix build`, untuned (2 slots, poll 5)", before),
          row("raw `nix build`, 2 slots, poll 1", after, before, "of untuned"),
          row("raw `nix build`, 2 slots, poll 0 (`--calibrate --poll-interval 0`)", afterZero, before, "of untuned"),
          row(`raw \`nix build\`, calibrated (${tuned.maxJobs} slots, poll 1)`, calibratedOne, before, "of untuned"),
          row("`crossnix build`, calibrated", viaCrossnix, before, "of untuned"),
        ]),
        "",
        `Two builders limited by a CFS quota on their sshd's cgroup (testbed/cpu-quota.ts): ${n1} to ${FAST_CPUS} CPU, ${n2} to ${SLOW_CPUS}; ${CPU_BATCH} x86_64-linux benchmark units (${CPU_ITERATIONS.toLocaleString("en-US")} shell-loop steps each), build-poll-interval 1 in both variants. Calibrated entries: ${n1} max-jobs ${factors[n1]!.maxJobs} speed ${factors[n1]!.speedFactor}, ${n2} max-jobs ${factors[n2]!.maxJobs} speed ${factors[n2]!.speedFactor}.`,
        "",
        table(ROW_HEADERS, [row("equal factors (2 slots, speed 1 each)", eq), row("calibrated", cal, eq, "of equal")]),
        "",
        `Calibration's reasons: ${two.calibration.entries.map((e) => `${e.name}: ${e.speedFactor.why}`).join("; ")}. Untuned one-builder range ${fmtRange(before)}.`,
      ],
      targets,
    };
  } finally {
    for (const q of quotas) q.remove();
  }
}
