// `npm run bench`: runs every benchmark on the loopback test bed and rewrites BENCHMARKS.md.
// BENCH_RUNS=<n> sets the runs per variant (default 5, at least 5 for a committed report).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertTestbedReady, getRun, stopAll } from "#testbed";
import { buildBench } from "./build.js";
import { cacheBench } from "./cache.js";
import { buildViewBench } from "./build-view.js";
import { type Fleet, REPO, startFleet } from "./fleet.js";
import { doctorBuilt, hungBench } from "./hung.js";
import { probeBench } from "./probe.js";
import { type Section, targetLine } from "./stats.js";
import { startupBench } from "./startup.js";
import { throughputBench } from "./throughput.js";
import { pollCostBench } from "./poll-cost.js";
import { compareBench } from "./compare.js";

const RUNS = Math.max(1, Number(process.env["BENCH_RUNS"] ?? 5));
/** BENCH_ONLY=probe,hung,build,view,startup,cache,throughput,poll,compare runs just those (for working on one benchmark). */
const ALL = ["probe", "hung", "build", "view", "startup", "cache", "throughput", "poll", "compare"];
const ONLY = new Set((process.env["BENCH_ONLY"] ?? ALL.join(",")).split(","));
const FLEET_SIZE = 16;
const started = performance.now();
const log = (line: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

/** First line a program prints about its version (ssh -V prints on stderr). */
function version(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] || "unknown";
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- Machine: ${cpus[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, Linux ${os.release()}`,
    `- Node ${process.version}; ${version(["nix", "--version"])}; ${version(["ssh", "-V"])}; crossnix ${JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version} (\`dist/\` built by this run)`,
    `- Runs: every figure is the median of ${RUNS} timed runs (min–max beside it) after one untimed warm-up round unless a section says otherwise; variants compared with each other run interleaved.`,
  ];
}

/** Runs one benchmark; a failure becomes a section that says so, and the run exits non-zero. */
async function section(title: string, fn: () => Promise<Section>, failures: string[]): Promise<Section> {
  const t = performance.now();
  try {
    const s = await fn();
    log(`${title}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return s;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push(`${title}: ${message}`);
    log(`${title}: FAILED: ${message}`);
    return {
      title,
      body: [`Not measured: the benchmark failed: \`${message.split("\n")[0]}\``],
      targets: [{ text: title, pass: false, detail: "not measured (benchmark failed)" }],
    };
  }
}

async function main(): Promise<number> {
  assertTestbedReady();
  const header = machine();
  const failures: string[] = [];
  // Start-up first, while nothing else runs; the report lists the benchmarks in the order.
  const startup = ONLY.has("startup")
    ? await section("Start-up", () => startupBench(Math.max(RUNS, 15), log), failures)
    : undefined;
  const sections: Section[] = [];

  // The test bed's machine-wide lock: another test run on this machine makes us wait here.
  const lockT = performance.now();
  await getRun();
  const lockS = (performance.now() - lockT) / 1000;
  log(`test bed lock taken after ${lockS.toFixed(1)} s`);
  const t = performance.now();
  let fleet: Fleet | undefined;
  try {
    // Every benchmark but startup and throughput needs the 16-builder fleet; throughput alone starts two builders.
    if (["probe", "hung", "build", "view", "cache"].some((k) => ONLY.has(k))) {
      log(`starting ${FLEET_SIZE} loopback builders and the sandbox`);
      fleet = await startFleet(FLEET_SIZE, log);
    }
  } catch (error) {
    failures.push(`fleet: ${error instanceof Error ? error.message : String(error)}`);
  }
  const setupS = (performance.now() - t) / 1000;
  if (fleet) {
    const f = fleet;
    if (ONLY.has("probe")) sections.push(await section("Probe fan-out", () => probeBench(f, RUNS, log), failures));
    if (ONLY.has("hung")) sections.push(await section("Hung builder", () => hungBench(f, RUNS, log), failures));
    if (ONLY.has("build")) sections.push(await section("Build overhead", () => buildBench(f, RUNS, log), failures));
    if (ONLY.has("cache")) sections.push(await section("Binary cache check", () => cacheBench(f, RUNS, log), failures));
    if (ONLY.has("view"))
      sections.push(await section("Build view overhead", () => buildViewBench(f, RUNS, log), failures));
  }
  // Throughput and poll need only two builders; after the others they reuse that fleet's first two.
  let small: Fleet | undefined = fleet;
  const smallFleet = async () => {
    small ??= await startFleet(2, log);
    return small;
  };
  if (ONLY.has("throughput")) {
    sections.push(
      await section("Fleet throughput", async () => throughputBench(await smallFleet(), RUNS, log), failures),
    );
  }
  if (ONLY.has("poll")) {
    sections.push(
      await section("Poll interval cost", async () => pollCostBench(await smallFleet(), RUNS, log), failures),
    );
  }
  if (ONLY.has("compare")) {
    sections.push(
      await section("Approaches compared", async () => compareBench(await smallFleet(), RUNS, log), failures),
    );
  }
  if (startup) sections.push(startup);
  await stopAll();
  const totalS = (performance.now() - started) / 1000;

  const targets = sections.flatMap((s) => s.targets);
  const md = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (`bench/run.sh` → `bench/run.ts`); do not edit by hand. Numbers come from the loopback test bed",
    "(`testbed`): every builder is an sshd with its own user and /nix store on this same machine, so builders and client share its CPUs.",
    "",
    ...header,
    `- Total run time: ${totalS.toFixed(0)} s, of which ${lockS.toFixed(1)} s waiting for the test bed's lock and ${setupS.toFixed(1)} s starting ${FLEET_SIZE} builders and registering them with \`crossnix builder add\`.`,
    "",
    "## Targets",
    "",
    ...targets.map(targetLine),
    ...(doctorBuilt()
      ? []
      : ["", "`crossnix doctor` was not built when this ran, so the hung-builder benchmark is not measured."]),
    ...(failures.length ? ["", "Failures:", ...failures.map((f) => `- ${f.split("\n")[0]}`)] : []),
    "",
    ...sections.flatMap((s) => [`## ${s.title}`, "", ...s.body, "", ...s.targets.map(targetLine), ""]),
  ].join("\n");
  // A partial run (BENCH_ONLY) prints its report instead of replacing the committed one.
  if (ALL.every((k) => ONLY.has(k))) fs.writeFileSync(path.join(REPO, "BENCHMARKS.md"), md);
  else process.stdout.write(md);
  log(
    `wrote BENCHMARKS.md in ${totalS.toFixed(0)} s: ${targets.filter((x) => x.pass).length} PASS, ${targets.filter((x) => !x.pass).length} MISS`,
  );
  for (const x of targets) log(`${x.pass ? "PASS" : "MISS"} ${x.text}: ${x.detail}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    await stopAll().catch(() => {});
    process.exit(1);
  },
);
