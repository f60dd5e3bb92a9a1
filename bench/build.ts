// Benchmark 3, build overhead: `crossnix build` of a batch of aarch64-linux derivations (each
// sleeping, built by arm64 busybox under qemu-user) over 3 builders vs raw `nix build` with the
// same arguments and builders; then the same crossnix build over 1 builder.
import * as fs from "node:fs";
import path from "node:path";
import type { Builder } from "#testbed";
import { batchArgs, coveredMs, type Fleet, NIX_CMD, REPO, type TracedCall, traceRun } from "./fleet.js";
import {
  fmtMs,
  fmtRange,
  measureInterleaved,
  ROW_HEADERS,
  row,
  type Section,
  summarize,
  type Target,
  table,
} from "./stats.js";

const COUNT = 12;
const SECONDS = 1;

/** The builder's own build logs created between two times: when each build ran there (epoch ms). */
function buildLogTimes(b: Builder, fromEpochMs: number, untilEpochMs: number): { start: number; end: number }[] {
  const root = path.join(b.nixDir, "var/log/nix/drvs");
  const runs: { start: number; end: number }[] = [];
  for (const dir of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    for (const file of fs.readdirSync(path.join(root, dir))) {
      const st = fs.statSync(path.join(root, dir, file));
      if (st.birthtimeMs >= fromEpochMs && st.birthtimeMs <= untilEpochMs)
        runs.push({ start: st.birthtimeMs, end: st.mtimeMs });
    }
  }
  return runs.sort((x, y) => x.start - y.start);
}

interface BuildJson {
  outputs: string[];
  builds: { builder: string; seconds: number | null }[];
}

export async function buildBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const three = fleet.names.slice(0, 3);
  const used = { 3: new Set<string>(), 1: new Set<string>() };
  const buildSeconds: number[] = [];
  const crossnix = (builders: 3 | 1) => async () => {
    const r = await fleet.crossnix(["build", "--json", "--", ...batchArgs(COUNT, SECONDS)], { timeoutMs: 300_000 });
    const doc = JSON.parse(r.stdout) as BuildJson;
    if (doc.outputs.length !== COUNT) throw new Error(`crossnix build gave ${doc.outputs.length} outputs`);
    for (const b of doc.builds) {
      used[builders].add(b.builder);
      if (b.seconds !== null) buildSeconds.push(b.seconds);
    }
  };
  const raw = async () => {
    const r = await fleet.run(["nix", ...NIX_CMD, "build", "--json", ...batchArgs(COUNT, SECONDS)], {
      timeoutMs: 300_000,
    });
    const outputs = (JSON.parse(r.stdout) as { outputs: Record<string, string> }[]).flatMap((o) =>
      Object.values(o.outputs),
    );
    if (outputs.length !== COUNT) throw new Error(`nix build gave ${outputs.length} outputs`);
  };
  const traced = () =>
    traceRun(fleet, [process.execPath, `${REPO}/dist/cli.js`, "build", "--json", "--", ...batchArgs(COUNT, SECONDS)]);
  // crossnix remembers for 30 s which builders answered over ssh: a first build checks them, a
  // build within 30 s of the last does not. Cold clears that cache; warm runs right after cold.
  const cache = path.join(fleet.sandbox.tmpDir, "crossnix-0");
  const clearCache = () => fs.rmSync(cache, { recursive: true, force: true });

  await fleet.enableOnly(three);
  log(`build: ${COUNT} × sleep ${SECONDS} aarch64-linux derivations over 3 builders, ${runs} runs each`);
  const warm3 = crossnix(3);
  const cold3 = async () => {
    clearCache();
    await warm3();
  };
  const s3 = await measureInterleaved({ cold: cold3, warm: warm3, nix: raw }, runs, log);
  clearCache();
  const trace = await traced();

  await fleet.enableOnly(three.slice(0, 1));
  log(`build: over 1 builder, one traced run (the warm-up), then ${runs} runs`);
  buildSeconds.length = 0;
  const trace1 = await traced();
  const s1 = await measureInterleaved({ one: crossnix(1) }, runs, log, false);

  // Where the traced first build went.
  const isBuild = (c: TracedCall) =>
    c.program === "nix" && / build /.test(` ${c.args} `) && !c.args.includes("--dry-run");
  const nixCalls = (match: (args: string) => boolean) =>
    trace.calls.filter((c) => c.program === "nix" && !isBuild(c) && match(c.args));
  const healthSsh = trace.calls.filter((c) => c.program === "ssh" && !c.args.includes("nix-daemon"));
  const buildWall = coveredMs(trace.calls.filter(isBuild), trace.wallMs);
  const outside = trace.wallMs - buildWall;
  const part = (label: string, calls: TracedCall[]) => [
    label,
    String(calls.length),
    calls.length ? fmtMs(Math.min(...calls.map((c) => c.startMs))) : "—",
    calls.length ? fmtMs(Math.max(...calls.map((c) => c.endMs ?? trace.wallMs))) : "—",
    fmtMs(coveredMs(calls, trace.wallMs)),
  ];
  const parts = [
    part(
      "`nix --version` and other `nix` calls",
      nixCalls((a) => !a.includes("--dry-run") && !a.includes("show-derivation") && !a.includes("derivation show")),
    ),
    part(
      "`nix build --dry-run` (what must be built)",
      nixCalls((a) => a.includes("--dry-run")),
    ),
    part(
      "`nix show-derivation` (systems and features)",
      nixCalls((a) => a.includes("show-derivation") || a.includes("derivation show")),
    ),
    part("`ssh` checks that the builders answer", healthSsh),
    part("the `nix build` itself", trace.calls.filter(isBuild)),
    [
      "no subprocess running (node: start-up, reading config, output)",
      "—",
      "—",
      "—",
      fmtMs(trace.wallMs - coveredMs(trace.calls, trace.wallMs)),
    ],
    ["the whole run", "—", "0 ms", fmtMs(trace.wallMs), fmtMs(trace.wallMs)],
  ];
  // When the build hook opened its ssh-ng connections (one per derivation), in s from `nix build`'s start.
  const connections = (t: typeof trace) => {
    const start = t.calls.find(isBuild)?.startMs ?? 0;
    return t.calls
      .filter((c) => c.program === "ssh" && c.args.includes("nix-daemon"))
      .map((c) => (c.startMs - start) / 1000);
  };
  const opened3 = connections(trace);
  const opened1 = connections(trace1);
  // The builder's own build logs say when each build really ran there (log opened → closed).
  const build1Start = trace1.startEpochMs + (trace1.calls.find(isBuild)?.startMs ?? 0);
  const ran1 = buildLogTimes(fleet.builders[0]!, trace1.startEpochMs, trace1.startEpochMs + trace1.wallMs).map((r) => ({
    start: (r.start - build1Start) / 1000,
    end: (r.end - build1Start) / 1000,
  }));
  // How long a slot sat free before the hook opened the next connection.
  const idle1 = opened1
    .slice(2)
    .map((t) => t - Math.max(...ran1.filter((r) => r.end < t).map((r) => r.end)))
    .filter((g) => Number.isFinite(g) && g > 0);
  const gaps = (xs: number[]) => xs.slice(1).map((t, i) => t - xs[i]!);
  const pairGaps1 = gaps(opened1).filter((g) => g > 1);

  const overheadTarget = (key: "cold" | "warm", when: string): Target => {
    const overhead = s3[key].median - s3.nix.median;
    const share = overhead / s3.nix.median;
    return {
      text: `crossnix build overhead ≤ 10% of raw \`nix build\` (medians, 3 builders), ${when}`,
      pass: share <= 0.1,
      detail:
        `${fmtMs(s3[key].median)} vs ${fmtMs(s3.nix.median)}: ${overhead >= 0 ? "+" : ""}${fmtMs(overhead)} = ${(100 * share).toFixed(1)}%` +
        (Math.abs(share - 0.1) < 0.02
          ? ` (on the line: within 2 points of the target, inside the runs' spread of ${fmtRange(s3[key])} vs ${fmtRange(s3.nix)})`
          : "") +
        (share <= 0.1
          ? ""
          : `; a traced first build spends ${fmtMs(outside)} outside \`nix build\`, ${fmtMs(coveredMs(healthSsh, trace.wallMs))} of it in the ssh checks of the builders (parts above)`),
    };
  };
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  const med = (xs: number[]) => (xs.length ? summarize(xs).median : Number.NaN);
  const where = (names: Set<string>) => [...names].sort().join(", ");
  return {
    title: `Build overhead (${COUNT} aarch64-linux derivations, sleep ${SECONDS} s each, qemu-user)`,
    body: [
      `\`crossnix build --json -- <args>\` against \`nix ${NIX_CMD.join(" ")} build --json <args>\`, both as root in the sandbox, with the same ` +
        `\`-f tests/fixtures/nix/fleet.nix batch --arg count ${COUNT} --arg seconds ${SECONDS} --no-link\` and a fresh nonce every run; ` +
        `the local machine has \`max-jobs = 0\`, each builder's entry max-jobs 2 (its probed CPU count). ` +
        `Runs rotate first build / build right after / nix. crossnix checks over ssh that the builders answer and remembers the answers for 30 s: ` +
        `a first build pays for the check, a build within 30 s of the last does not. The 1-builder runs follow one traced run in place of a warm-up round.`,
      "",
      table(ROW_HEADERS, [
        row(`\`nix build\`, 3 builders (${where(new Set(three))})`, s3.nix),
        row("`crossnix build`, 3 builders, first build (answers not cached)", s3.cold, s3.nix, "of nix build"),
        row("`crossnix build`, 3 builders, right after another (answers cached)", s3.warm, s3.nix, "of nix build"),
        row("`crossnix build`, 1 builder (answers cached)", s1.one, s3.warm, "of 3 builders"),
      ]),
      "",
      `Speed-up from 3 builders over 1: **${(s1.one.median / s3.warm.median).toFixed(2)}×** (crossnix reported the builds on ${where(used[3])} in the 3-builder runs and on ${where(used[1])} in the 1-builder runs).`,
      "",
      "When Nix's build hook opened its ssh-ng connection for each derivation, in s after `nix build` started (traced runs, ssh replaced on PATH by a logging shim):",
      "",
      `- 3 builders: ${list(opened3)}`,
      `- 1 builder: ${list(opened1)}; the builds ran there (build log opened–closed on n1): ${ran1.map((r) => `${r.start.toFixed(1)}–${r.end.toFixed(1)}`).join(", ")}`,
      "",
      `With 3 builders the hook opens one connection after another, a median ${fmtMs(1000 * summarize(gaps(opened3).length ? gaps(opened3) : [0]).median)} apart, so the last derivation starts ` +
        `${list(opened3.slice(-1))} s in. With 1 builder (2 slots) each build ran a median ${fmtMs(1000 * med(ran1.map((r) => r.end - r.start)))} on n1, yet each next pair ` +
        `started a median ${fmtMs(1000 * med(pairGaps1))} after the previous one, a slot sitting free a median ${fmtMs(1000 * med(idle1))} first: the waiting derivations are retried on a timer, ` +
        `not when a slot frees. That is Nix's scheduling inside \`nix build\`, not crossnix, and it sets the 1-builder time. ` +
        `crossnix's own report (\`builds[].seconds\`) gave these derivations a median of ${med(buildSeconds).toFixed(1)} s each, not the time they ran on the builder.`,
      "",
      "Where one first `crossnix build` (3 builders, answers not cached) goes, `nix` and `ssh` replaced on PATH by logging shims (from/until: ms after crossnix started):",
      "",
      table(["part", "calls", "from", "until", "time"], parts),
      "",
      `Outside the \`nix build\` itself crossnix spends ${fmtMs(outside)} of this run.`,
    ],
    targets: [overheadTarget("cold", "first build"), overheadTarget("warm", "build right after another")],
  };
}
