// The loopback fleet the benchmarks share: n test bed builders (each its own sshd, user and /nix
// store, aarch64-linux through qemu-user) registered with `crossnix builder add`, inside the test
// bed's sandbox root so crossnix, ssh and nix see the /etc files crossnix writes.
import * as fs from "node:fs";
import path from "node:path";
import {
  type Builder,
  BUSYBOX_DIR,
  clientIdentity,
  createSandbox,
  type ExecResult,
  newNonce,
  type Sandbox,
  startBuilders,
} from "#testbed";

export const REPO = path.resolve(import.meta.dirname, "..");
const FLEET_NIX = path.join(REPO, "tests/fixtures/nix/fleet.nix");

/**
 * Nix arguments for `count` derivations that each sleep `seconds` on their builder, with a fresh
 * nonce every call: new derivations, nothing cached, for every variant and run.
 */
export function batchArgs(count: number, seconds: number): string[] {
  const args = ["-f", FLEET_NIX, "batch", "--argstr", "nonce", newNonce(), "--arg", "busybox", BUSYBOX_DIR];
  return [...args, "--arg", "count", String(count), "--arg", "seconds", String(seconds), "--no-link"];
}
export const CLI = path.join(REPO, "dist/cli.js");
/** Nix 2.8 needs this for every `nix <subcommand>`. */
export const NIX_CMD = ["--extra-experimental-features", "nix-command"];
const KEY = "/etc/nix/bench_client_ed25519";

export interface Fleet {
  sandbox: Sandbox;
  builders: Builder[];
  /** Names as registered: n1, n2, … */
  names: string[];
  /** Runs a command as root in the sandbox; throws with its output unless the exit code is expected. */
  run(argv: string[], opts?: { ok?: number[]; timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  crossnix(args: string[], opts?: { ok?: number[]; timeoutMs?: number }): Promise<ExecResult>;
  /** Leaves exactly these builders enabled in the machines file. */
  enableOnly(names: string[]): Promise<void>;
}

export async function startFleet(count: number, log: (line: string) => void): Promise<Fleet> {
  const builders = await startBuilders(
    Array.from({ length: count }, () => ({ systems: ["x86_64-linux", "aarch64-linux"] })),
  );
  const sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
  sandbox.writeFile(KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
  const names = builders.map((_, i) => `n${i + 1}`);
  const enabled = new Set(names);

  const run: Fleet["run"] = async (argv, opts = {}) => {
    const r = await sandbox.run(argv, {
      timeoutMs: opts.timeoutMs ?? 120_000,
      env: { NO_COLOR: "1", XDG_STATE_HOME: `${sandbox.tmpDir}/state`, ...opts.env },
    });
    if (!(opts.ok ?? [0]).includes(r.exitCode ?? -1)) {
      throw new Error(
        `${argv.join(" ")} exited ${r.exitCode}${r.timedOut ? " (timed out)" : ""}:\n${(r.stderr + r.stdout).slice(-2000)}`,
      );
    }
    return r;
  };
  const crossnix: Fleet["crossnix"] = (args, opts) => run([process.execPath, CLI, ...args], opts);

  const t = performance.now();
  for (const [i, b] of builders.entries()) {
    await crossnix([
      "builder",
      "add",
      `${b.user}@${b.address}:${b.port}`,
      "--name",
      names[i]!,
      "--identity",
      KEY,
      "--yes",
    ]);
  }
  log(`registered ${count} builders with crossnix builder add in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  return {
    sandbox,
    builders,
    names,
    run,
    crossnix,
    async enableOnly(want) {
      for (const n of names) {
        if (want.includes(n) && !enabled.has(n)) await crossnix(["builder", "enable", n, "--yes"]);
        if (!want.includes(n) && enabled.has(n)) await crossnix(["builder", "disable", n, "--yes"]);
      }
      enabled.clear();
      for (const n of want) enabled.add(n);
    },
  };
}

/** CPU time in ms (Linux clock ticks are 10 ms), from /proc. */
const TICK_MS = 10;

interface Proc {
  comm: string;
  state: string;
  ppid: number;
  start: number;
  /** utime+stime of the process itself. */
  own: number;
  /** cutime+cstime: its children that have finished and been reaped. */
  children: number;
}

function readProc(pid: number): Proc | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    return {
      comm,
      state: f[0]!,
      ppid: Number(f[1]),
      start: Number(f[19]),
      own: (Number(f[11]) + Number(f[12])) * TICK_MS,
      children: (Number(f[13]) + Number(f[14])) * TICK_MS,
    };
  } catch {
    return undefined; // gone meanwhile
  }
}

function procTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) table.set(Number(name), p);
  }
  return table;
}

function machineCpu(): { busyMs: number; totalMs: number } {
  const v = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busyMs: (total - v[3]! - v[4]!) * TICK_MS, totalMs: total * TICK_MS };
}

export interface CpuUse {
  /** This process's finished children: crossnix (node) and the ssh/nix clients it or the loop ran. */
  clientMs: number;
  /**
   * The builders' sshd: the listeners, and the per-connection sessions with everything they ran.
   * Sessions are orphaned and left to init (pid 1), which reaps them lazily: they are counted as
   * zombies while they wait, and from init's children time once reaped.
   */
  buildersMs: number;
  /** This benchmark process itself. */
  harnessMs: number;
  /** Every other process on the machine (other people's work, the VM's agent), by command name. */
  others: Map<string, number>;
  /** The whole machine's busy time, and its capacity (wall × cores), over the timed run. */
  machineBusyMs: number;
  machineCapacityMs: number;
}

function mountNs(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Waits (up to 3 s) until no sshd session is left in the builders' namespaces, only the listeners. */
async function sessionsEnded(builders: Builder[]): Promise<void> {
  const listeners = new Set(builders.map((b) => b.sshdPid!));
  const namespaces = new Set(builders.map((b) => mountNs(b.sshdPid!)));
  const until = performance.now() + 3000;
  while (performance.now() < until) {
    const left = [...procTable()].some(
      ([pid, p]) => p.comm === "sshd" && !listeners.has(pid) && namespaces.has(mountNs(pid)),
    );
    if (!left) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs fn once and measures its wall time and the CPU it made the machine spend, by side, so a
 * figure can say what dominates it. The process table is read outside the timed part.
 */
export async function withCpu(builders: Builder[], fn: () => Promise<unknown>): Promise<{ ms: number; cpu: CpuUse }> {
  const a = procTable();
  const busyA = machineCpu();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  const busyB = machineCpu();
  await sessionsEnded(builders);
  const b = procTable();
  const total = (p: Proc | undefined) => (p ? p.own + p.children : 0);
  const delta = (pid: number) => {
    const before = a.get(pid);
    const after = b.get(pid);
    return total(after) - (before && after && before.start === after.start ? total(before) : 0);
  };
  const init = {
    own: (b.get(1)?.own ?? 0) - (a.get(1)?.own ?? 0),
    children: (b.get(1)?.children ?? 0) - (a.get(1)?.children ?? 0),
  };
  // sshd sessions waiting for init to reap them: new ones count now; ones init reaped meanwhile
  // were counted before and now show up again in init's children time.
  const zombies = (t: Map<number, Proc>) =>
    new Map(
      [...t]
        .filter(([, p]) => p.state === "Z" && p.ppid === 1 && p.comm === "sshd")
        .map(([pid, p]) => [`${pid}:${p.start}`, total(p)]),
    );
  const [za, zb] = [zombies(a), zombies(b)];
  const sessionsMs =
    [...zb].reduce((sum, [k, ms]) => sum + (za.has(k) ? 0 : ms), 0) +
    init.children -
    [...za].reduce((sum, [k, ms]) => sum + (zb.has(k) ? 0 : ms), 0);
  // Ours: this process and everything under it (the builders' listeners included).
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of [...a, ...b]) {
      if (!ours.has(pid) && ours.has(p.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  // Each process's own CPU plus what its finished children passed on to it: summed over the
  // processes alive at the end, each CPU second of the window counts once.
  const others = new Map<string, number>();
  for (const [pid, p] of b) {
    if (ours.has(pid) || (p.state === "Z" && p.ppid === 1 && p.comm === "sshd")) continue;
    const d = pid === 1 ? init.own : delta(pid);
    const name = p.comm.replace(/\/.*$/, ""); // kworker/0:1 → kworker
    if (d > 0) others.set(name, (others.get(name) ?? 0) + d);
  }
  return {
    ms,
    cpu: {
      clientMs: b.get(process.pid)!.children - a.get(process.pid)!.children,
      buildersMs: builders.reduce((sum, x) => sum + delta(x.sshdPid!), 0) + sessionsMs,
      harnessMs: b.get(process.pid)!.own - a.get(process.pid)!.own,
      others,
      machineBusyMs: busyB.busyMs - busyA.busyMs,
      machineCapacityMs: busyB.totalMs - busyA.totalMs,
    },
  };
}

export interface TracedCall {
  program: string;
  args: string;
  startMs: number;
  /** null when the call never ended by itself (killed, e.g. by crossnix's timeout). */
  endMs: number | null;
}

/**
 * Runs a command once with `nix` and `ssh` replaced on PATH by shims that log when each call
 * started and ended, so the run's wall time splits into its subprocesses and the rest (node).
 * Times are ms from the start of the run.
 */
export async function traceRun(
  fleet: Fleet,
  argv: string[],
  opts: { ok?: number[] } = {},
): Promise<{ startEpochMs: number; wallMs: number; calls: TracedCall[] }> {
  const dir = path.join(fleet.sandbox.tmpDir, "bench-shims");
  const logFile = path.join(dir, "calls.log");
  fs.mkdirSync(dir, { recursive: true });
  for (const program of ["nix", "ssh"]) {
    const shim = [
      "#!/bin/sh",
      `printf 'S %s %s %s\\n' "$$" "$(date +%s%N)" "${program} $(printf '%s ' "$@" | tr '\\n' ' ' | cut -c1-160)" >> ${logFile}`,
      `/usr/bin/${program} "$@"`,
      "rc=$?",
      `printf 'E %s %s\\n' "$$" "$(date +%s%N)" >> ${logFile}`,
      "exit $rc",
    ].join("\n");
    fs.writeFileSync(path.join(dir, program), `${shim}\n`, { mode: 0o755 });
  }
  fs.writeFileSync(logFile, "", { mode: 0o666 });
  const t0 = performance.timeOrigin + performance.now();
  await fleet.run(argv, {
    ...opts,
    env: { PATH: `${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
  });
  const wallMs = performance.timeOrigin + performance.now() - t0;
  const open = new Map<string, TracedCall>();
  const calls: TracedCall[] = [];
  for (const line of fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean)) {
    const [kind, pid, ns, program, ...rest] = line.split(" ");
    const at = Number(ns) / 1e6 - t0;
    if (kind === "S") {
      const call = { program: program!, args: rest.join(" ").trim(), startMs: at, endMs: null };
      open.set(pid!, call);
      calls.push(call);
    } else {
      const call = open.get(pid!);
      if (call) call.endMs = at;
      open.delete(pid!);
    }
  }
  return { startEpochMs: t0, wallMs, calls: calls.sort((a, b) => a.startMs - b.startMs) };
}

/** Wall time covered by at least one of the calls (overlapping calls count once; an unended call runs to `untilMs`). */
export function coveredMs(calls: TracedCall[], untilMs: number): number {
  let total = 0;
  let end = -Infinity;
  for (const c of [...calls].sort((a, b) => a.startMs - b.startMs)) {
    const cEnd = c.endMs ?? untilMs;
    if (cEnd <= end) continue;
    total += cEnd - Math.max(c.startMs, end);
    end = cEnd;
  }
  return total;
}
