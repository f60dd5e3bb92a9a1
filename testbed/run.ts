// The test bed's run: one directory per test process under TESTBED_ROOT, a machine-wide lock
// (the loopback ports, the builder users and /nix/var/nix/daemon-socket are shared by every
// test run on this machine), and a record of every process, namespace and mount started, so
// that stopAll() — or, after a crash, the next run — stops exactly those, by PID.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { canConnect, isAlive, mountNsOf, pidsInMountNs, procStat, signalPid, stopPid } from "./proc.js";

/** Where runs live; override with CROSSNIX_TESTBED_DIR. */
export const TESTBED_ROOT = process.env["CROSSNIX_TESTBED_DIR"] ?? "/tmp/crossnix-testbed";

interface TrackedProc {
  pid: number;
  startTime: number;
  label: string;
}
interface TrackedNs {
  holderPid: number;
  startTime: number;
  ns: string;
  label: string;
}
interface State {
  runnerPid: number;
  procs: TrackedProc[];
  namespaces: TrackedNs[];
  mounts: string[];
  socketFiles: string[];
  /** Directories this run created on the machine (mount targets), parents first; removed when empty. */
  createdDirs: string[];
}

/** Something with an orderly shutdown (a builder, the sandbox). */
export interface Stoppable {
  stop(): Promise<void>;
}

export class Run {
  readonly dir: string;
  private readonly state: State;
  private readonly owners = new Set<Stoppable>();
  private stopping: Promise<void> | undefined;

  constructor(
    dir: string,
    private readonly lock: ChildProcess,
  ) {
    this.dir = dir;
    this.state = { runnerPid: process.pid, procs: [], namespaces: [], mounts: [], socketFiles: [], createdDirs: [] };
    this.save();
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  own(o: Stoppable): void {
    this.owners.add(o);
  }
  disown(o: Stoppable): void {
    this.owners.delete(o);
  }

  trackPid(pid: number, label: string): void {
    const st = procStat(pid);
    if (!st) return;
    this.state.procs.push({ pid, startTime: st.startTime, label });
    this.save();
  }
  untrackPid(pid: number): void {
    this.state.procs = this.state.procs.filter((p) => p.pid !== pid);
    this.save();
  }
  trackNamespace(holderPid: number, label: string): string {
    const st = procStat(holderPid);
    const ns = mountNsOf(holderPid);
    if (!st || !ns) throw new Error(`namespace holder ${holderPid} (${label}) is gone`);
    this.state.namespaces.push({ holderPid, startTime: st.startTime, ns, label });
    this.save();
    return ns;
  }
  untrackNamespace(holderPid: number): void {
    this.state.namespaces = this.state.namespaces.filter((n) => n.holderPid !== holderPid);
    this.save();
  }
  trackMount(p: string): void {
    this.state.mounts.push(p);
    this.save();
  }
  untrackMount(p: string): void {
    this.state.mounts = this.state.mounts.filter((m) => m !== p);
    this.save();
  }
  /**
   * Makes sure a directory exists on the machine (a bind-mount target such as /etc/nix on a
   * machine without Nix), recording every component it had to create so that stopAll() — or the
   * next run, after a crash — removes them again.
   */
  ensureDir(p: string, mode = 0o755): void {
    const missing: string[] = [];
    for (let d = path.resolve(p); !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      fs.mkdirSync(d, { mode });
      fs.chmodSync(d, mode);
      this.state.createdDirs.push(d);
      this.save();
    }
  }

  trackSocketFile(p: string): void {
    if (!this.state.socketFiles.includes(p)) this.state.socketFiles.push(p);
    this.save();
  }

  private save(): void {
    const file = path.join(this.dir, "state.json");
    fs.writeFileSync(file + ".tmp", JSON.stringify(this.state, null, 1));
    fs.renameSync(file + ".tmp", file);
  }

  /** Stop every owner, then anything still recorded; release the lock; remove the run dir. */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const o of [...this.owners].reverse()) {
        try {
          await o.stop();
        } catch (e) {
          errors.push(e);
        }
      }
      this.owners.clear();
      try {
        await reap(this.state);
      } catch (e) {
        errors.push(e);
      }
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.lock.stdin?.end();
      process.removeListener("exit", exitHandler);
      current = undefined;
      if (errors.length > 0) throw new AggregateError(errors, "test bed cleanup had errors");
    })();
    return this.stopping;
  }

  /** Best effort, synchronous (process 'exit' handler): kill by PID, unmount, remove. */
  stopAllSync(): void {
    reapSync(this.state);
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }
}

let current: Run | undefined;
let starting: Promise<Run> | undefined;

function exitHandler(): void {
  current?.stopAllSync();
}

/** The current run, created on first use: takes the machine-wide lock and cleans stale runs. */
export function getRun(): Promise<Run> {
  if (current && !current.stopped) return Promise.resolve(current);
  starting ??= (async () => {
    try {
      fs.mkdirSync(TESTBED_ROOT, { recursive: true, mode: 0o755 });
      const st = fs.statSync(TESTBED_ROOT);
      if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
        throw new Error(`${TESTBED_ROOT} must be owned by root and not group/world-writable`);
      }
      const lock = await takeLock(path.join(TESTBED_ROOT, "lock"));
      await cleanStaleRuns();
      const dir = fs.mkdtempSync(path.join(TESTBED_ROOT, `run-${process.pid}-`));
      fs.chmodSync(dir, 0o755);
      current = new Run(dir, lock);
      process.on("exit", exitHandler);
      return current;
    } finally {
      starting = undefined;
    }
  })();
  return starting;
}

/** Stop everything the test bed started in this process (no-op if nothing was started). */
export async function stopAll(): Promise<void> {
  if (starting) await starting.catch(() => {});
  await current?.stopAll();
}

/**
 * flock(1) holds the lock for as long as its child `cat` reads our stdin: when we end stdin, or
 * this process dies in any way, the pipe closes and the lock is released.
 */
async function takeLock(file: string): Promise<ChildProcess> {
  const child = spawn("flock", ["-x", "-w", "900", file, "sh", "-c", "echo locked; exec cat >/dev/null"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.unref();
  const stdout = child.stdout!;
  const warn = setTimeout(() => {
    process.stderr.write(`crossnix test bed: waiting for ${file} (another test run holds it)\n`);
  }, 2000);
  try {
    await new Promise<void>((resolve, reject) => {
      stdout.on("data", (b: Buffer) => {
        if (b.toString().includes("locked")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`could not take the test bed lock ${file} (flock exit ${code})`)));
      child.once("error", reject);
    });
  } finally {
    clearTimeout(warn);
  }
  (stdout as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return child;
}

/** With the lock held, any run directory left over is from a run that died: clean it up. */
async function cleanStaleRuns(): Promise<void> {
  for (const name of fs.readdirSync(TESTBED_ROOT)) {
    if (!name.startsWith("run-")) continue;
    const dir = path.join(TESTBED_ROOT, name);
    let state: State | undefined;
    try {
      state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as State;
    } catch {}
    if (state) await reap(state);
    // Never rm -rf across a mount point we failed to unmount. (maxRetries: a dying run may still
    // be creating files in it, which makes rmdir fail with ENOTEMPTY.)
    if (mountsUnder(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

function mountsUnder(dir: string): string[] {
  const text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(dir + "/"));
}

function sameProcess(pid: number, startTime: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && isAlive(pid);
}

/** Processes of a recorded namespace: all of them if its holder still runs, else none we can prove. */
function nsMembers(n: TrackedNs): number[] {
  if (!sameProcess(n.holderPid, n.startTime)) {
    // Holder gone: the namespace id may have been reused; only take processes that are
    // younger than the holder was, in a namespace with the same id.
    return pidsInMountNs(n.ns).filter((p) => (procStat(p)?.startTime ?? 0) >= n.startTime);
  }
  return pidsInMountNs(n.ns);
}

async function reap(state: State): Promise<void> {
  for (const p of state.procs) {
    if (sameProcess(p.pid, p.startTime)) await stopPid(p.pid, { graceMs: 1000 });
  }
  for (const n of state.namespaces) {
    // Again until none is left: a process being stopped may start another meanwhile (crossnix
    // restarting the sandbox's daemon spawns the new one after the old one is gone).
    for (let round = 0; round < 5; round++) {
      const members = nsMembers(n).filter((p) => p !== n.holderPid);
      if (members.length === 0) break;
      await Promise.all(members.map((p) => stopPid(p, { graceMs: 1000 })));
    }
    if (sameProcess(n.holderPid, n.startTime)) await stopPid(n.holderPid, { graceMs: 500 });
  }
  unmountAll(state);
  for (const s of state.socketFiles) {
    // Remove a daemon socket file we created only if nobody answers on it any more (a
    // daemon someone else started since must keep its socket).
    try {
      if (fs.statSync(s).isSocket() && !(await socketAnswers(s))) fs.rmSync(s, { force: true });
    } catch {}
  }
  state.socketFiles = [];
  removeCreatedDirs(state);
}

function reapSync(state: State): void {
  for (const p of state.procs) {
    if (sameProcess(p.pid, p.startTime)) {
      signalPid(p.pid, "SIGCONT");
      signalPid(p.pid, "SIGKILL");
    }
  }
  for (let round = 0; round < 5; round++) {
    for (const n of state.namespaces) {
      for (const p of nsMembers(n)) {
        signalPid(p, "SIGCONT");
        signalPid(p, "SIGKILL");
      }
    }
  }
  // Give the kernel a moment to tear the namespaces down before unmounting.
  const until = Date.now() + 500;
  while (Date.now() < until && state.namespaces.some((n) => nsMembers(n).length > 0)) {}
  // Socket files are left for the next run, which can check whether someone answers on them.
  unmountAll(state);
  removeCreatedDirs(state);
}

/** Removes the directories the run created, deepest first, as long as they are empty. */
function removeCreatedDirs(state: State): void {
  for (const d of [...(state.createdDirs ?? [])].reverse()) {
    try {
      if (mountsUnder(d).length === 0) fs.rmdirSync(d);
    } catch {
      // Not empty (something else put files there since) or already gone: leave it.
    }
  }
  state.createdDirs = [];
}

function unmountAll(state: State): void {
  for (const m of [...state.mounts].reverse()) {
    if (mountsUnder(m).includes(m)) {
      try {
        execFileSync("umount", [m], { stdio: "ignore" });
      } catch {
        try {
          execFileSync("umount", ["-l", m], { stdio: "ignore" });
        } catch {}
      }
    }
  }
  state.mounts = [];
}

/** True if something accepts connections on the Unix socket. */
export function socketAnswers(p: string): Promise<boolean> {
  return canConnect({ path: p });
}
