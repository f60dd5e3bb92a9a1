// Gathers doctor's facts about the local nix-daemon: socket, process start time, ssh on its PATH.
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { connect } from "node:net";
import type { DaemonFacts } from "../../core/doctor/local.js";
import { findDaemonProcess } from "../nix/daemon.js";
import type { HostInfo } from "../nix/detect.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { SYSTEM_PATHS } from "../system/paths.js";

/**
 * Connects to the daemon's socket (the cheapest proof it runs; docs/nix-errors.md#daemon-socket-refused
 * is the refusal).
 */
function socketState(path: string, timeoutMs = 2000): Promise<{ state: DaemonFacts["socket"]; error: string | null }> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (state: DaemonFacts["socket"], error: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ state, error });
    };
    const timer = setTimeout(() => done("refused", "no answer in 2 s"), timeoutMs);
    socket.once("connect", () => done("answers", null));
    socket.once("error", (e: NodeJS.ErrnoException) =>
      done(e.code === "ENOENT" ? "missing" : "refused", e.code ?? e.message),
    );
  });
}

/**
 * Start time of a Linux process, to the clock tick: /proc/<pid>/stat field 22 is ticks after
 * boot, /proc/uptime is seconds since boot now (btime alone has one-second resolution).
 */
async function linuxStartTime(host: Host, pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  const uptime = await readFile("/proc/uptime", "utf8").catch(() => null);
  if (!stat || !uptime) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]); // field 22 overall; fields[0] is field 3 (state)
  const tck = await host.exec(["getconf", "CLK_TCK"], { timeoutMs: 2000 });
  const hz = succeeded(tck) ? Number(tck.stdout.trim()) || 100 : 100;
  const up = Number(uptime.split(" ")[0]);
  if (!Number.isFinite(ticks) || !Number.isFinite(up)) return null;
  return Date.now() - (up - ticks / hz) * 1000;
}

/** macOS: the nix-daemon (or determinate-nixd) whose parent is not one, and `ps -o lstart`. */
async function psDaemon(host: Host): Promise<{ pid: number; startedAt: number | null } | null> {
  const ps = await host.exec(["ps", "-axo", "pid=,ppid=,comm="], { timeoutMs: 5000 });
  if (!succeeded(ps)) return null;
  const rows = ps.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), name: m[3]!.trim().split("/").at(-1) ?? "" }));
  for (const name of ["nix-daemon", "determinate-nixd"]) {
    const daemons = rows.filter((r) => r.name === name);
    const top = daemons.find((d) => !daemons.some((p) => p.pid === d.ppid));
    if (!top) continue;
    const lstart = await host.exec(["ps", "-o", "lstart=", "-p", String(top.pid)], {
      timeoutMs: 5000,
      env: { ...host.env, LC_ALL: "C" },
    });
    const parsed = succeeded(lstart) ? Date.parse(lstart.stdout.trim()) : Number.NaN;
    return { pid: top.pid, startedAt: Number.isFinite(parsed) ? parsed : null };
  }
  return null;
}

/** The first executable `ssh` on a PATH value. */
async function sshOn(pathValue: string): Promise<string | null> {
  for (const dir of pathValue.split(":").filter((d) => d.startsWith("/"))) {
    const candidate = `${dir.replace(/\/+$/, "")}/ssh`;
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}

export async function gatherDaemon(host: Host, info: HostInfo, reloadCommand: string | null): Promise<DaemonFacts> {
  const facts = await gatherDaemonProcess(host, info, reloadCommand);
  const pathValue = info.mode === "daemon" ? facts.env?.["PATH"] : host.env["PATH"];
  if (pathValue !== undefined) facts.sshOnPath = await sshOn(pathValue);
  return facts;
}

async function gatherDaemonProcess(host: Host, info: HostInfo, reloadCommand: string | null): Promise<DaemonFacts> {
  const socketPath = SYSTEM_PATHS.nixDaemonSocket;
  const facts: DaemonFacts = {
    socketPath,
    socket: "missing",
    socketError: null,
    pid: null,
    startedAt: null,
    env: null,
    reloadCommand,
  };
  if (info.mode !== "daemon") return facts;
  const s = await socketState(host.path(socketPath));
  facts.socket = s.state;
  facts.socketError = s.error;
  if (host.platform === "linux") {
    // Needs root (it reads other users' /proc entries); without it, fall back to ps.
    const daemon = await findDaemonProcess().catch(() => null);
    if (daemon) {
      facts.pid = daemon.pid;
      facts.env = daemon.env;
      facts.startedAt = await linuxStartTime(host, daemon.pid);
      facts.startedAtResolutionMs = 50;
      return facts;
    }
  }
  if (host.platform === "linux" || host.platform === "darwin") {
    const daemon = await psDaemon(host);
    if (daemon) {
      facts.pid = daemon.pid;
      facts.startedAt = daemon.startedAt;
      facts.startedAtResolutionMs = 1000;
    }
  }
  return facts;
}
