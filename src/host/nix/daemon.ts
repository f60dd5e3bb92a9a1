// Finds and restarts a nix-daemon that no service manager runs (Linux without systemd).
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { PlanCommand } from "../../core/plan/plan.js";
import { CrossnixError } from "../../errors.js";
import type { Host } from "../system/host.js";
import type { HostInfo } from "./detect.js";
import { SYSTEM_PATHS } from "../system/paths.js";

export interface DaemonProcess {
  pid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** The log files its stdout/stderr append to, or null (a terminal, a pipe, /dev/null). */
  stdout: string | null;
  stderr: string | null;
}

async function logFileOf(pid: string, fd: number): Promise<string | null> {
  const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => null);
  if (!target?.startsWith("/") || target.endsWith(" (deleted)") || target.startsWith("/dev/")) return null;
  return target;
}

async function readProc(pid: string, file: string): Promise<string | null> {
  return readFile(`/proc/${pid}/${file}`, "utf8").catch(() => null);
}

/**
 * The listening `nix-daemon` on a Linux machine without systemd: the nix-daemon process whose
 * parent is not itself a nix-daemon (each client connection is a forked child with the same name).
 * `among` limits the search to those process ids (default: every process).
 */
export async function findDaemonProcess(among?: string[]): Promise<DaemonProcess | null> {
  const pids = (among ?? (await readdir("/proc").catch(() => []))).filter((p) => /^\d+$/.test(p));
  // Only a daemon that reads the same /etc/nix as we write: one in a container or another mount
  // namespace with its own /etc/nix is not ours to restart.
  const ours = await stat(SYSTEM_PATHS.nixConfDir).catch(() => null);
  const daemons = new Map<string, string>();
  for (const pid of pids) {
    const theirs = await stat(`/proc/${pid}/root${SYSTEM_PATHS.nixConfDir}`).catch(() => null);
    if (ours && (theirs?.dev !== ours.dev || theirs?.ino !== ours.ino)) continue;
    // Restarting re-runs its command line as us: only one that root or we ourselves started, never
    // a program another user named nix-daemon (its arguments and environment would run as root).
    const owner = (await stat(`/proc/${pid}`).catch(() => null))?.uid;
    if (owner === undefined || (owner !== 0 && owner !== process.getuid?.())) continue;
    const statLine = await readProc(pid, "stat");
    const match = statLine && /^\d+ \((.*)\) \S+ (\d+)/.exec(statLine);
    if (match?.[1] === "nix-daemon") daemons.set(pid, match[2]!);
  }
  for (const [pid, ppid] of daemons) {
    if (daemons.has(ppid)) continue;
    const argv = (await readProc(pid, "cmdline"))?.split("\0").filter(Boolean) ?? [];
    if (argv.length === 0) continue;
    const env = Object.fromEntries(
      ((await readProc(pid, "environ")) ?? "")
        .split("\0")
        .filter((kv) => kv.includes("="))
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => "/");
    return { pid: Number(pid), argv, env, cwd, stdout: await logFileOf(pid, 1), stderr: await logFileOf(pid, 2) };
  }
  return null;
}

async function socketAnswers(path: string): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Restarts a daemon that no service manager owns: stop it, start the same command line with the
 * same environment, and wait until its socket answers. The daemon reads nix.conf only at startup.
 */
export async function restartDaemonProcess(daemon: DaemonProcess, timeoutMs = 10_000): Promise<number> {
  process.kill(daemon.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(daemon.pid, 0);
      await new Promise((r) => setTimeout(r, 50));
    } catch {
      break;
    }
  }
  const [file, ...args] = daemon.argv;
  // The new daemon keeps writing to the old one's log files.
  const output = (log: string | null) => (log ? openSync(log, "a") : "ignore");
  const child = spawn(file!, args, {
    env: daemon.env,
    cwd: daemon.cwd,
    detached: true,
    stdio: ["ignore", output(daemon.stdout), output(daemon.stderr)],
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new CrossnixError("EXEC", `could not start ${daemon.argv.join(" ")} again`);
  while (Date.now() < deadline) {
    if (await socketAnswers(SYSTEM_PATHS.nixDaemonSocket)) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new CrossnixError(
    "EXEC",
    `the restarted nix-daemon (pid ${pid}) does not answer on ${SYSTEM_PATHS.nixDaemonSocket}`,
  );
}

/**
 * How to make the daemon re-read its settings here, or null when nobody can: the service manager's
 * restart (from detection), else, on Linux without one, crossnix's own restart of the running daemon.
 */
export async function daemonRestartCommand(host: Host, info: HostInfo): Promise<PlanCommand | null> {
  if (info.daemonReload) return info.daemonReload;
  if (host.platform === "linux" && info.mode === "daemon" && (await findDaemonProcess())) {
    const cli = fileURLToPath(new URL("../../cli.js", import.meta.url));
    return {
      argv: [process.execPath, cli, "internal", "restart-daemon"],
      description: "restart the running nix-daemon",
    };
  }
  return null;
}
