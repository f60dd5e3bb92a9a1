// Process utilities for the test bed: run a command to completion, start a long-running
// server, stop processes strictly by PID, and inspect /proc (namespaces, start times).
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  input?: string;
  /** Kill the process (its process group) after this long. Default 120 s. */
  timeoutMs?: number;
  cwd?: string;
}

export interface ExecResult {
  /** null when the process was killed by a signal (e.g. after timeoutMs). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Single-quote a word for /bin/sh. */
export function shq(word: string): string {
  return "'" + word.replaceAll("'", "'\\''") + "'";
}

/**
 * Run argv (no shell) to completion. The child leads its own process group so a timeout can
 * kill everything it spawned that stayed in the group.
 */
export function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("exec: empty argv");
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? "/",
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {}); // EPIPE when the child does not read its input
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
    }, opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** exec, and throw (with stderr) unless it exits 0. Returns stdout. */
export async function check(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.exitCode !== 0) {
    throw new Error(
      `command failed (exit ${r.exitCode ?? r.signal}${r.timedOut ? ", timed out" : ""}): ${argv.join(" ")}\n${r.stderr}${r.stdout}`,
    );
  }
  return r.stdout;
}

export interface Server {
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited (and been reaped). */
  exited: Promise<void>;
  /** true once it has exited. */
  readonly hasExited: boolean;
}

/**
 * Start a long-running process in its own process group with stdout+stderr appended to
 * logFile. With readyLine, resolves only once the process printed that line on stdout
 * (stdout then goes nowhere more).
 */
export async function startServer(
  argv: readonly string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; readyLine?: string; readyTimeoutMs?: number },
): Promise<Server> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("startServer: empty argv");
  const log = fs.openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      cwd: opts.cwd ?? "/",
      env: opts.env ?? process.env,
      stdio: ["ignore", opts.readyLine ? "pipe" : log, log],
      detached: true,
    });
  } finally {
    fs.closeSync(log);
  }
  let exitedFlag = false;
  const exited = new Promise<void>((resolve) => {
    child.on("exit", () => {
      exitedFlag = true;
      resolve();
    });
    child.on("error", () => {
      exitedFlag = true;
      resolve();
    });
  });
  // The test runner must be able to exit even if a server outlives cleanup by mistake.
  child.unref();
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (e) => reject(e));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${cmd}`);
  if (opts.readyLine) {
    const stdout = child.stdout;
    if (!stdout) throw new Error("no stdout");
    const want = opts.readyLine;
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(
        () =>
          reject(new Error(`${cmd}: no "${want}" within ${opts.readyTimeoutMs ?? 10_000} ms (see ${opts.logFile})`)),
        opts.readyTimeoutMs ?? 10_000,
      );
      stdout.on("data", (b: Buffer) => {
        buf += b.toString("utf8");
        if (buf.split("\n").includes(want)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${cmd} exited (${code}) before it was ready:\n${tail(opts.logFile)}`));
      });
    });
    (stdout as unknown as { unref?: () => void }).unref?.();
  }
  return {
    pid,
    child,
    exited,
    get hasExited() {
      return exitedFlag;
    },
  };
}

/** Last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Send a signal to one PID; false if it no longer exists. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}

/** Signal the process group led by pid (a process we started with detached: true). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return signalPid(pid, signal);
    throw e;
  }
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  startTime: number;
}

/** Parse /proc/<pid>/stat; undefined if the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    state: rest[0] ?? "?",
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    startTime: Number(rest[19]),
  };
}

/** Alive = exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/**
 * Stop one process by PID: SIGCONT (in case it is stopped), SIGTERM, then SIGKILL after
 * graceMs. With group, the signals go to its process group (pid must be the leader we started).
 */
export async function stopPid(pid: number, opts: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  const send = (s: NodeJS.Signals) => (opts.group ? signalGroup(pid, s) : signalPid(pid, s));
  if (!isAlive(pid)) return;
  send("SIGCONT");
  send("SIGTERM");
  try {
    await waitUntil(`pid ${pid} to exit`, () => !isAlive(pid), opts.graceMs ?? 2000);
  } catch {
    send("SIGKILL");
    await waitUntil(`pid ${pid} to die`, () => !isAlive(pid), 5000);
  }
}

/** The mount-namespace id of a process ("mnt:[4026532…]"), undefined if gone. */
export function mountNsOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

export function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** PIDs of every live process in the mount namespace `ns`. */
export function pidsInMountNs(ns: string): number[] {
  return allPids().filter((p) => p !== process.pid && mountNsOf(p) === ns && isAlive(p));
}

/** pid and all its live descendants (by walking ppid links now). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const st = procStat(p);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(p);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resolves when something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect({ host, port })) return;
    if (alive && !alive()) throw new Error(`server for ${host}:${port} exited`);
    if (Date.now() > deadline) throw new Error(`${host}:${port} not accepting connections after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** One connection attempt (TCP or Unix socket path); true if it was accepted. */
export function canConnect(
  target: { host: string; port: number } | { path: string },
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(target as net.NetConnectOpts);
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}
