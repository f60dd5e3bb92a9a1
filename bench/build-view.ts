// Benchmark: the build view's overhead (BENCH_ONLY=view). Wall time of `crossnix build` (showing
// its append-only lines, as in CI) against raw `nix build` on the 12-derivation batch, and the CPU
// crossnix itself (the node process, not the Nix client under it) uses while a long build runs,
// both without a terminal and with the live view on a 120×40 pseudo-terminal (`script`).
import { batchArgs, CLI, type Fleet, NIX_CMD } from "./fleet.js";
import { fmtMs, measureInterleaved, ROW_HEADERS, row, type Section, table } from "./stats.js";

const COUNT = 12;
/**
 * The long build whose CPU is measured: a minute per derivation, measured from 15 s in, so the
 * figure is the view's steady cost and not the first seconds' JIT compilation and garbage
 * collection after start-up (which "whole run" still counts).
 */
const LONG = { count: 6, seconds: 60 };
const STEADY_FROM_MS = 15_000;

/**
 * Runs a command in the sandbox under a watcher that samples the CPU time (utime + stime from
 * /proc/<pid>/stat, children excluded) of the crossnix node process every 50 ms until it exits.
 */
const WATCHER = `
const fs = require("node:fs");
const { spawn } = require("node:child_process");
const [mode, ...argv] = process.argv.slice(2);
const TYPESCRIPT = "/home/cxclient/watch-cpu.typescript";
const t0 = Date.now();
const child = mode === "tty"
  ? spawn("script", ["-qec", "stty rows 40 cols 120; " + argv.map((a) => "'" + a.replace(/'/g, "'\\\\''") + "'").join(" "), TYPESCRIPT], { stdio: ["ignore", "ignore", "ignore"] })
  : spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "ignore"] });
const tick = Number(require("node:child_process").execFileSync("getconf", ["CLK_TCK"]).toString().trim());
let cpuMs = 0;
const samples = [];
let found = mode === "tty" ? null : child.pid;
const node = () => {
  if (found) return found;
  try {
    // script → sh → node: the node process is the one started as exactly argv[0] argv[1] (node, the
    // CLI). This watcher's own command line names both too, as arguments: it must not count itself.
    for (const p of fs.readdirSync("/proc").filter((d) => /^\\d+$/.test(d) && Number(d) !== process.pid)) {
      const cmd = fs.readFileSync("/proc/" + p + "/cmdline", "utf8").split("\\0");
      if (cmd[0] === argv[0] && cmd[1] === argv[1]) return (found = Number(p));
    }
  } catch {}
  return null;
};
const timer = setInterval(() => {
  const pid = node();
  if (!pid) return;
  try {
    const f = fs.readFileSync("/proc/" + pid + "/stat", "utf8").split(") ")[1].split(" ");
    cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / tick;
    samples.push([Date.now() - t0, cpuMs]);
  } catch {}
}, 50);
child.on("exit", (code) => {
  clearInterval(timer);
  // What the terminal received: frames are ink's synchronized-update blocks (ESC[?2026h … ESC[?2026l).
  let frames = 0;
  let bytes = 0;
  if (mode === "tty") {
    const text = fs.readFileSync(TYPESCRIPT, "latin1");
    bytes = text.length;
    frames = text.split("\x1b[?2026h").length - 1;
  }
  process.stdout.write(JSON.stringify({ code, wallMs: Date.now() - t0, cpuMs, samples, frames, bytes }));
});
`;

export interface CpuRun {
  wallMs: number;
  cpuMs: number;
  /** Frames the terminal received (ink's synchronized updates) and bytes written to it, whole run (tty only). */
  frames: number;
  bytes: number;
  /** CPU over wall time while the builds run: from STEADY_FROM_MS in until 3 s before the end (start-up, evaluation and the summary left out). */
  steady: { wallMs: number; cpuMs: number };
}

export async function cpuDuring(fleet: Fleet, mode: "pipe" | "tty"): Promise<CpuRun> {
  const watcher = "/home/cxclient/watch-cpu.cjs";
  fleet.sandbox.writeFile(watcher, WATCHER, 0o644);
  const env: Record<string, string> = mode === "tty" ? { TERM: "xterm-256color", NO_COLOR: "" } : {};
  const r = await fleet.run(
    [process.execPath, watcher, mode, process.execPath, CLI, "build", "--", ...batchArgs(LONG.count, LONG.seconds)],
    { timeoutMs: 300_000, env },
  );
  const out = JSON.parse(r.stdout) as {
    code: number;
    wallMs: number;
    cpuMs: number;
    samples: [number, number][];
    frames: number;
    bytes: number;
  };
  if (out.code !== 0) throw new Error(`crossnix build (${mode}) exited ${out.code}`);
  const inside = out.samples.filter(([t]) => t >= STEADY_FROM_MS && t <= out.wallMs - 3000);
  const [first, last] = [inside[0], inside.at(-1)];
  if (!first || !last || last[0] - first[0] < 5000) throw new Error("too few CPU samples while the builds ran");
  return {
    wallMs: out.wallMs,
    cpuMs: out.cpuMs,
    frames: out.frames,
    bytes: out.bytes,
    steady: { wallMs: last[0] - first[0], cpuMs: last[1] - first[1] },
  };
}

export async function buildViewBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  await fleet.enableOnly(fleet.names.slice(0, 3));
  log(`view: crossnix build (lines) vs nix build, ${COUNT} × sleep 1 aarch64-linux over 3 builders, ${runs} runs`);
  const s = await measureInterleaved(
    {
      crossnix: async () => {
        await fleet.crossnix(["build", "--no-color", "--", ...batchArgs(COUNT, 1)], { timeoutMs: 300_000 });
      },
      nix: async () => {
        await fleet.run(["nix", ...NIX_CMD, "build", ...batchArgs(COUNT, 1)], { timeoutMs: 300_000 });
      },
    },
    runs,
    log,
  );
  log(`view: CPU of crossnix during a ${LONG.count} × ${LONG.seconds} s build, without and with a terminal`);
  const pipe = await cpuDuring(fleet, "pipe");
  const tty = await cpuDuring(fleet, "tty");
  const share = (s.crossnix.median - s.nix.median) / s.nix.median;
  const pct = (x: CpuRun) => (100 * x.steady.cpuMs) / x.steady.wallMs;
  const steadyText = (x: CpuRun) =>
    `${pct(x).toFixed(2)}% of a core (${fmtMs(x.steady.cpuMs)} in ${fmtMs(x.steady.wallMs)})`;
  return {
    title: "Build view overhead",
    body: [
      `\`crossnix build --no-color -- <args>\` (one timestamped line per change, as in CI) against \`nix ${NIX_CMD.join(" ")} build <args>\`, ` +
        `as root in the sandbox, \`-f tests/fixtures/nix/fleet.nix batch --arg count ${COUNT} --arg seconds 1 --no-link\`, a fresh nonce per run, ` +
        "3 builders enabled, runs interleaved after one warm-up round (so crossnix's 30 s cache of builder answers is warm).",
      "",
      table(ROW_HEADERS, [row("`nix build`", s.nix), row("`crossnix build`", s.crossnix, s.nix, "of nix build")]),
      "",
      `CPU of the crossnix node process (utime + stime from /proc, sampled every 50 ms; the Nix client under it not counted) during ` +
        `\`crossnix build\` of ${LONG.count} derivations sleeping ${LONG.seconds} s, while the builds run (${STEADY_FROM_MS / 1000} s in to 3 s before the end) and over the whole run ` +
        "(start-up, evaluation, builder checks and summary included):",
      "",
      table(
        ["what", "while building", "whole run"],
        [
          ["no terminal (timestamped lines)", steadyText(pipe), `${fmtMs(pipe.cpuMs)} in ${fmtMs(pipe.wallMs)}`],
          [
            "live view on a 120×40 pseudo-terminal (`script`)",
            steadyText(tty),
            `${fmtMs(tty.cpuMs)} in ${fmtMs(tty.wallMs)}; ${tty.frames} frames (${((tty.frames * 1000) / tty.wallMs).toFixed(1)}/s), ${(tty.bytes / 1024).toFixed(0)} KiB to the terminal`,
          ],
        ],
      ),
    ],
    targets: [
      {
        text: "crossnix build within 5% of raw nix build (medians, 12-derivation batch)",
        pass: share <= 0.05,
        detail: `${fmtMs(s.crossnix.median)} vs ${fmtMs(s.nix.median)}: ${(100 * share).toFixed(1)}%`,
      },
      {
        text: "crossnix's CPU during a long build under 2% of one core (live view on a terminal)",
        pass: pct(tty) < 2 && pct(pipe) < 2,
        detail: `${pct(tty).toFixed(2)}% with the live view, ${pct(pipe).toFixed(2)}% without a terminal`,
      },
    ],
  };
}
