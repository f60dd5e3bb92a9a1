// A private mount namespace with some directories bind-mounted over system paths.
//
// A "holder" process (`unshare --mount --propagation private … sleep infinity`) keeps the
// namespace alive; everything else enters it with `nsenter --mount`, optionally switching
// user with `setpriv`. Because the holder is a process we started, every process in the
// namespace is ours, and destroy() can stop them one by one, by PID.
import * as fs from "node:fs";
import {
  type ExecOptions,
  type ExecResult,
  exec,
  pidsInMountNs,
  type Server,
  shq,
  startServer,
  stopPid,
} from "./proc.js";
import type { Run } from "./run.js";
import type { UserInfo } from "./users.js";

/** Absolute path of a system program (spawn looks names up in the *child's* PATH). */
export function systemProgram(name: string): string {
  for (const d of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    if (fs.existsSync(`${d}/${name}`)) return `${d}/${name}`;
  }
  return name;
}
const NSENTER = systemProgram("nsenter");
const SETPRIV = systemProgram("setpriv");

export interface Bind {
  /** Host path. */
  source: string;
  /** Path inside the namespace; a missing directory is created (and removed after the run). */
  target: string;
}

export interface NsExecOptions extends ExecOptions {
  /** Run as this user (uid, gid and supplementary groups); root when omitted. */
  user?: UserInfo;
}

export class MountNamespace {
  private constructor(
    private readonly run: Run,
    readonly label: string,
    readonly holderPid: number,
    /** "mnt:[…]" */
    readonly ns: string,
  ) {}

  static async create(run: Run, label: string, binds: readonly Bind[], logFile: string): Promise<MountNamespace> {
    // A bind mount needs its target to exist; on a fresh machine /etc/nix, /root/.ssh, … do not.
    for (const b of binds) if (!fs.existsSync(b.target)) run.ensureDir(b.target);
    const script = [
      "set -e",
      ...binds.map((b) => `mount --bind ${shq(b.source)} ${shq(b.target)}`),
      "echo ready",
      "exec sleep infinity",
    ].join("\n");
    const holder = await startServer(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script], {
      logFile,
      readyLine: "ready",
    });
    const ns = run.trackNamespace(holder.pid, label);
    return new MountNamespace(run, label, holder.pid, ns);
  }

  /** argv that runs `argv` inside the namespace (as opts.user). */
  wrap(argv: readonly string[], opts: { user?: UserInfo; cwd?: string } = {}): string[] {
    const enter = [NSENTER, "-t", String(this.holderPid), "-m", `--wd=${opts.cwd ?? "/"}`, "--"];
    const as = opts.user
      ? [SETPRIV, `--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, "--init-groups", "--"]
      : [];
    return [...enter, ...as, ...argv];
  }

  exec(argv: readonly string[], opts: NsExecOptions = {}): Promise<ExecResult> {
    return exec(this.wrap(argv, { user: opts.user, cwd: opts.cwd }), { ...opts, cwd: "/" });
  }

  /** A long-running process in the namespace, recorded for cleanup. */
  async startServer(
    argv: readonly string[],
    opts: { user?: UserInfo; cwd?: string; env?: NodeJS.ProcessEnv; logFile: string; label: string },
  ): Promise<Server> {
    const s = await startServer(this.wrap(argv, opts), { logFile: opts.logFile, env: opts.env });
    this.run.trackPid(s.pid, opts.label);
    return s;
  }

  /** Stop a server started with startServer (and its process group). */
  async stopServer(s: Server): Promise<void> {
    // (Not `await s.exited`: the child is unref'd, so that alone would not keep Node running.)
    await stopPid(s.pid, { group: true });
    this.run.untrackPid(s.pid);
  }

  /** Live processes in the namespace other than the holder. */
  processes(): number[] {
    return pidsInMountNs(this.ns).filter((p) => p !== this.holderPid);
  }

  /** Stop every process in the namespace, then the holder; the kernel then drops the mounts. */
  async destroy(): Promise<void> {
    await Promise.all(this.processes().map((p) => stopPid(p, { graceMs: 1000 })));
    await stopPid(this.holderPid, { graceMs: 500 });
    this.run.untrackNamespace(this.holderPid);
  }
}
