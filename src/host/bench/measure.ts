// Runs the benchmark derivation on one builder through the daemon, and times SSH and copies to it.
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { type FleetBuilder, daemonSshTarget } from "../../core/builders/fleet.js";
import { benchExpression, benchOutput } from "../../core/bench/derivation.js";
import { LOOP_OUTPUT, loopElf, loopExpression } from "../../core/bench/loop-elf.js";
import { diagnoseNixOutput } from "../../core/diagnosis/index.js";
import { formatEntry } from "../../core/formats/machines/index.js";
import { sshRun } from "../builders/ssh.js";
import type { Host } from "../system/host.js";

export type Timed = { ok: true; seconds: number } | { ok: false; seconds: number; why: string };

const nonce = () => `${Date.now().toString(36)}${randomBytes(5).toString("hex")}`;

/** Where the benchmark builds: one builder (its entry as `--builders`), or this machine. */
export type BenchPlace = { kind: "builder"; builder: FleetBuilder } | { kind: "local" };

/**
 * Builds `count` benchmark derivations at once in one place. On a builder, `--builders` names only
 * it, with `count` slots, and `--max-jobs 0` keeps them off this machine; locally, `--builders ''`
 * and `--max-jobs count`. Through the daemon, as real builds go (it honours these only from a
 * trusted user: docs/nix-settings.md#client-overrides). Every output must say the loop ran to the
 * end, or the run does not count.
 */
export async function timeBenchBuild(
  host: Host,
  place: BenchPlace,
  system: string,
  options: { count: number; iterations: number; viaDaemon: boolean; timeoutSeconds: number },
): Promise<Timed & { log: string }> {
  const run = await benchBuild(host, place, system, options);
  return { ...run.timed, log: run.log };
}

async function benchBuild(
  host: Host,
  place: BenchPlace,
  system: string,
  options: { count: number; iterations: number; viaDaemon: boolean; timeoutSeconds: number },
): Promise<{ timed: Timed; log: string }> {
  const nonces = Array.from({ length: options.count }, nonce);
  const b = place.kind === "builder" ? place.builder : null;
  const argv = [
    "nix-build",
    "--no-out-link",
    "--max-jobs",
    b ? "0" : String(options.count),
    "--builders",
    b ? formatEntry({ ...b.entry, maxJobs: options.count }) : "",
    "--expr",
    benchExpression(system, nonces, options.iterations, b?.entry.mandatoryFeatures ?? []),
  ];
  const env = { ...host.env, ...(options.viaDaemon ? { NIX_REMOTE: "daemon" } : {}) };
  const run = await host.exec(argv, { timeoutMs: options.timeoutSeconds * 1000, env, cwd: os.tmpdir() });
  const seconds = run.durationMs / 1000;
  const log = run.stderr;
  if (run.timedOut) return { timed: { ok: false, seconds, why: `no result after ${options.timeoutSeconds} s` }, log };
  if (run.exitCode !== 0) {
    const d = diagnoseNixOutput(run.stderr)[0];
    const tail = run.stderr.trim().split("\n").at(-1) ?? "";
    return {
      timed: {
        ok: false,
        seconds,
        why: d ? d.summary : `nix-build exited with ${run.exitCode}: ${tail.slice(0, 200)}`,
      },
      log,
    };
  }
  const outs = run.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("/"));
  const want = benchOutput(options.iterations);
  const texts = await Promise.all(outs.map((p) => readFile(p, "utf8").catch(() => "")));
  if (outs.length !== options.count || texts.some((t) => t.trim() !== want)) {
    return {
      timed: { ok: false, seconds, why: `the outputs do not say '${want}': the work did not run to the end` },
      log,
    };
  }
  return { timed: { ok: true, seconds }, log };
}

/**
 * Builds `count` derivations for `system` on this machine at once (`--builders ''`), each running
 * crossnix's machine-code loop program of that CPU `loops` times: under binfmt_misc for an emulated
 * system. Every output must be the program's own line, or the run does not count.
 */
export async function timeLoopBuild(
  host: Host,
  system: string,
  options: { count: number; loops: number; viaDaemon: boolean; timeoutSeconds: number },
): Promise<Timed> {
  const elf = loopElf(system, options.loops);
  if (!elf) return { ok: false, seconds: 0, why: `crossnix has no loop program for ${system}` };
  // World-readable: the daemon's client (this user) imports the file, not the daemon.
  const dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-bench-"));
  try {
    await chmod(dir, 0o755);
    const program = path.join(dir, `crossnix-loop-${system}-${options.loops}`);
    await writeFile(program, elf, { mode: 0o755 });
    const nonces = Array.from({ length: options.count }, nonce);
    const argv = [
      "nix-build",
      "--no-out-link",
      "--max-jobs",
      String(options.count),
      "--builders",
      "",
      "--expr",
      loopExpression(system, program, nonces),
    ];
    const env = { ...host.env, ...(options.viaDaemon ? { NIX_REMOTE: "daemon" } : {}) };
    const run = await host.exec(argv, { timeoutMs: options.timeoutSeconds * 1000, env, cwd: dir });
    const seconds = run.durationMs / 1000;
    if (run.timedOut) return { ok: false, seconds, why: `no result after ${options.timeoutSeconds} s` };
    if (run.exitCode !== 0) {
      const d = diagnoseNixOutput(run.stderr)[0];
      const tail = run.stderr.trim().split("\n").at(-1) ?? "";
      return {
        ok: false,
        seconds,
        why: d ? d.summary : `nix-build exited with ${run.exitCode}: ${tail.slice(0, 200)}`,
      };
    }
    const outs = run.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("/"));
    const texts = await Promise.all(outs.map((p) => readFile(p, "utf8").catch(() => "")));
    if (outs.length !== options.count || texts.some((t) => t.trim() !== LOOP_OUTPUT)) {
      return { ok: false, seconds, why: `the outputs do not say '${LOOP_OUTPUT}': the loop did not run to the end` };
    }
    return { ok: true, seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One SSH connection as the daemon makes it, doing nothing: connect, host key, authentication. */
export async function timeRoundTrip(host: Host, b: FleetBuilder, timeoutSeconds: number): Promise<Timed> {
  const run = await sshRun(host, daemonSshTarget(b), "exit 0", { timeoutSeconds });
  const seconds = run.durationMs / 1000;
  if (run.exitCode === 0 && !run.timedOut) return { ok: true, seconds };
  return { ok: false, seconds, why: run.stderr.trim().split("\n").at(-1) || `ssh exited with ${run.exitCode}` };
}

/**
 * Bytes through the daemon's SSH connection: `bytes` of incompressible data sent to `cat >
 * /dev/null`, or read from the builder's /dev/urandom. The connection's own cost (`roundTrip`,
 * seconds) is taken off, so this is the copy rate Nix's closures travel at.
 */
export async function timeTransfer(
  host: Host,
  b: FleetBuilder,
  direction: "upload" | "download",
  bytes: number,
  roundTrip: number,
  timeoutSeconds: number,
): Promise<{ ok: true; bytesPerSecond: number } | { ok: false; why: string }> {
  const target = daemonSshTarget(b);
  const run =
    direction === "upload"
      ? await sshRun(host, target, "cat > /dev/null", {
          timeoutSeconds,
          input: randomBytes(Math.ceil((bytes * 3) / 4))
            .toString("base64")
            .slice(0, bytes),
        })
      : await sshRun(host, target, 'head -c "$1" /dev/urandom', { timeoutSeconds, args: [String(bytes)] });
  if (run.exitCode !== 0 || run.timedOut) {
    return { ok: false, why: run.stderr.trim().split("\n").at(-1) || `ssh exited with ${run.exitCode}` };
  }
  const seconds = Math.max(0.001, run.durationMs / 1000 - roundTrip);
  return { ok: true, bytesPerSecond: bytes / seconds };
}
