// The sandbox root: the machine's own /nix and nix-daemon socket, but private copies of
// /etc/nix, /etc/ssh, /root/.ssh and the client user's home.
//
// A mount namespace binds <sandbox>/etc/nix on /etc/nix, <sandbox>/etc/ssh on /etc/ssh,
// <sandbox>/root/.ssh on /root/.ssh and <sandbox>/home/<client> on the client's home. The
// local root nix-daemon and every command under test (crossnix, ssh, nix-build as the client
// user) run in that namespace, so they all see exactly the files crossnix writes, at their
// real paths, and the machine's real /etc is never touched. As in a multi-user install (and
// on macOS), the daemon runs as root and does the SSH to builders with root's ssh config.
import * as fs from "node:fs";
import * as path from "node:path";
import { MountNamespace } from "./namespace.js";
import {
  canConnect,
  descendants,
  type ExecResult,
  isAlive,
  allPids,
  procStat,
  type Server,
  stopPid,
  tail,
  waitUntil,
} from "./proc.js";
import { getRun, type Run, TESTBED_ROOT } from "./run.js";
import { ensureUser, lookupUser, type UserInfo } from "./users.js";

export const DAEMON_SOCKET = "/nix/var/nix/daemon-socket/socket";
const STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SandboxOptions {
  /** Lines appended to the initial /etc/nix/nix.conf (e.g. "max-jobs = 0"). */
  nixConf?: string;
  /** Start the local nix-daemon right away. Default true. */
  startDaemon?: boolean;
  /** Environment of the daemon (replaces DEFAULT_DAEMON_ENV; TMPDIR is added unless set). */
  daemonEnv?: Record<string, string>;
  /** The non-root user commands run as. Default "cxclient" (created, member of nix-users). */
  clientUser?: string;
}

export interface SandboxRunOptions {
  /** User name to run as; default root. */
  user?: string;
  /** Added to (and overriding) the default PATH, HOME, USER, LOGNAME, TMPDIR. */
  env?: Record<string, string>;
  input?: string;
  /** Default 120 s; on expiry the command's process group is killed and timedOut is set. */
  timeoutMs?: number;
  /** Working directory inside the sandbox; default the user's home. */
  cwd?: string;
}

/** The local daemon's environment unless told otherwise. */
export const DEFAULT_DAEMON_ENV: Readonly<Record<string, string>> = {
  PATH: STD_PATH,
  HOME: "/root",
  USER: "root",
  LOGNAME: "root",
};

/** The settings the local daemon starts with (before options.nixConf). */
export const BASE_NIX_CONF = `# crossnix test bed: local daemon settings (sandbox root)
sandbox = false
substituters =
trusted-users = root
`;

export class Sandbox {
  /** Host directory standing in for / (etc/nix, etc/ssh, root/.ssh, home/<client>). */
  readonly dir: string;
  readonly clientUser: string;
  private daemon: Server | undefined;
  private daemonEnv: Record<string, string>;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly owner: Run,
    dir: string,
    private readonly client: UserInfo,
    private readonly ns: MountNamespace,
    private readonly mapping: ReadonlyArray<readonly [string, string]>,
    daemonEnv: Record<string, string> | undefined,
  ) {
    this.dir = dir;
    this.clientUser = client.name;
    this.daemonEnv = { ...(daemonEnv ?? DEFAULT_DAEMON_ENV) };
  }

  static async create(opts: SandboxOptions = {}): Promise<Sandbox> {
    const run = await getRun();
    if (current && !current.stopping) throw new Error("one sandbox per run (there is one local nix-daemon socket)");
    const client = await ensureUser(opts.clientUser ?? "cxclient", ["nix-users"]);
    const dir = path.join(run.dir, "sandbox");
    const etcNix = path.join(dir, "etc/nix");
    const etcSsh = path.join(dir, "etc/ssh");
    const rootSsh = path.join(dir, "root/.ssh");
    const home = path.join(dir, "home", client.name);
    fs.mkdirSync(etcNix, { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(etcSsh, "ssh_config.d"), { recursive: true, mode: 0o755 });
    fs.mkdirSync(rootSsh, { recursive: true, mode: 0o700 });
    fs.chmodSync(rootSsh, 0o700);
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.chownSync(home, client.uid, client.gid);
    // TMPDIR of everything in the sandbox: Nix 2.8 leaves a /tmp/nix-<pid>-0/host-key
    // directory behind for every SSH connection with a pinned host key.
    fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
    fs.chmodSync(path.join(dir, "tmp"), 0o1777);
    fs.chmodSync(path.join(dir, "root"), 0o700);

    fs.writeFileSync(
      path.join(etcNix, "nix.conf"),
      BASE_NIX_CONF + (opts.nixConf ? opts.nixConf.trimEnd() + "\n" : ""),
    );
    // The client side of the machine's ssh configuration (ssh_config with its
    // `Include /etc/ssh/ssh_config.d/*.conf`, the drop-ins, global known hosts); not sshd's
    // host keys.
    for (const f of ["ssh_config", "ssh_known_hosts"]) {
      if (fs.existsSync(path.join("/etc/ssh", f))) fs.copyFileSync(path.join("/etc/ssh", f), path.join(etcSsh, f));
    }
    if (fs.existsSync("/etc/ssh/ssh_config.d")) {
      for (const f of fs.readdirSync("/etc/ssh/ssh_config.d")) {
        const src = path.join("/etc/ssh/ssh_config.d", f);
        if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(etcSsh, "ssh_config.d", f));
      }
    }

    // The daemon's socket directory (MountNamespace creates the bind targets themselves).
    run.ensureDir("/nix/var/nix/daemon-socket");

    const mapping: Array<readonly [string, string]> = [
      ["/etc/nix", etcNix],
      ["/etc/ssh", etcSsh],
      ["/root/.ssh", rootSsh],
      [client.home, home],
    ];
    const ns = await MountNamespace.create(
      run,
      "sandbox",
      mapping.map(([target, source]) => ({ source, target })),
      path.join(run.dir, "sandbox-namespace.log"),
    );
    const sb = new Sandbox(run, dir, client, ns, mapping, opts.daemonEnv);
    current = sb;
    run.own(sb);
    try {
      if (opts.startDaemon ?? true) await sb.startDaemon();
    } catch (e) {
      await sb.stop().catch(() => {});
      throw e;
    }
    return sb;
  }

  /** TMPDIR for the daemon and commands (inside the run dir, removed with it). */
  get tmpDir(): string {
    return path.join(this.dir, "tmp");
  }

  /** Host path of a path as seen inside the sandbox ("/etc/nix/machines" → "<dir>/etc/nix/machines"). */
  path(p: string): string {
    const abs = path.resolve("/", p);
    for (const [inside, host] of this.mapping) {
      if (abs === inside || abs.startsWith(inside + "/")) return host + abs.slice(inside.length);
    }
    throw new Error(`${p} is not inside the sandbox (only ${this.mapping.map(([i]) => i).join(", ")})`);
  }

  /** Write a file at its in-sandbox path (parents created; under the client's home, owned by the client). */
  writeFile(p: string, content: string, mode = 0o644): void {
    const host = this.path(p);
    fs.mkdirSync(path.dirname(host), { recursive: true });
    fs.writeFileSync(host, content, { mode });
    fs.chmodSync(host, mode);
    const owner = host.startsWith(this.path(this.client.home)) ? this.client : undefined;
    fs.chownSync(host, owner?.uid ?? 0, owner?.gid ?? 0);
  }

  readFile(p: string): string {
    return fs.readFileSync(this.path(p), "utf8");
  }

  exists(p: string): boolean {
    return fs.existsSync(this.path(p));
  }

  /** Run argv inside the sandbox, as root or as opts.user. Never throws for a non-zero exit. */
  run(argv: readonly string[], opts: SandboxRunOptions = {}): Promise<ExecResult> {
    const user = opts.user && opts.user !== "root" ? lookupUser(opts.user) : undefined;
    if (opts.user && opts.user !== "root" && !user) throw new Error(`no such user ${opts.user}`);
    const name = user?.name ?? "root";
    const home = user?.home ?? "/root";
    return this.ns.exec(argv, {
      user,
      cwd: opts.cwd ?? home,
      input: opts.input,
      timeoutMs: opts.timeoutMs,
      env: { PATH: STD_PATH, HOME: home, USER: name, LOGNAME: name, TMPDIR: this.tmpDir, ...opts.env },
    });
  }

  /** run() as the client user. */
  runAsClient(argv: readonly string[], opts: Omit<SandboxRunOptions, "user"> = {}): Promise<ExecResult> {
    return this.run(argv, { ...opts, user: this.clientUser });
  }

  get daemonPid(): number | undefined {
    return this.daemon && !this.daemon.hasExited ? this.daemon.pid : undefined;
  }

  get daemonLog(): string {
    return path.join(this.owner.dir, "local-daemon.log");
  }

  /**
   * The local daemon's stderr (all restarts, appended), from byte `from` on. ssh's own stderr
   * (e.g. "Host key verification failed.") lands here for ssh-ng:// builders in Nix 2.8, not
   * in the client's output. Use daemonLogSize() before an action as `from`.
   */
  readDaemonLog(from = 0): string {
    try {
      return fs.readFileSync(this.daemonLog).subarray(from).toString("utf8");
    } catch {
      return "";
    }
  }

  daemonLogSize(): number {
    try {
      return fs.statSync(this.daemonLog).size;
    } catch {
      return 0;
    }
  }

  /** Start the local root nix-daemon in the sandbox (reads the sandbox's /etc/nix/nix.conf). */
  async startDaemon(env?: Record<string, string>): Promise<void> {
    if (this.daemonPid !== undefined) return;
    if (env) this.daemonEnv = { ...env };
    await stopLeftoverDaemons(path.basename(this.owner.dir));
    if (await canConnect({ path: DAEMON_SOCKET }, 500)) {
      throw new Error(
        `another nix-daemon already serves ${DAEMON_SOCKET} (not started by the test bed); stop it first ` +
          "(e.g. systemctl stop nix-daemon.socket nix-daemon.service)",
      );
    }
    this.owner.trackSocketFile(DAEMON_SOCKET);
    const d = await this.ns.startServer(["/usr/bin/nix-daemon"], {
      cwd: "/",
      env: { TMPDIR: this.tmpDir, ...this.daemonEnv },
      logFile: this.daemonLog,
      label: "local nix-daemon",
    });
    this.daemon = d;
    await waitUntil(
      "the local nix-daemon socket",
      async () => {
        if (d.hasExited) throw new Error(`the local nix-daemon exited:\n${tail(this.daemonLog)}`);
        return canConnect({ path: DAEMON_SOCKET }, 200);
      },
      10_000,
    );
  }

  /**
   * Listening nix-daemons in the sandbox namespace that the test bed did not start itself:
   * crossnix restarts a daemon no service manager owns (`crossnix internal restart-daemon`)
   * by starting the same command line again, inside this namespace.
   */
  private adoptedDaemons(): number[] {
    // Recognised by what they read: /etc/nix resolving (through /proc/<pid>/root) to this
    // sandbox's etc/nix — the same test crossnix applies before restarting a daemon.
    const ours = fs.statSync(this.path("/etc/nix"));
    const comm = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        return "";
      }
    };
    const readsOurEtc = (pid: number) => {
      try {
        const theirs = fs.statSync(`/proc/${pid}/root/etc/nix`);
        return theirs.dev === ours.dev && theirs.ino === ours.ino;
      } catch {
        return false;
      }
    };
    const daemons = new Set(allPids().filter((p) => comm(p) === "nix-daemon" && readsOurEtc(p)));
    return [...daemons].filter((p) => p !== this.daemon?.pid && !daemons.has(procStat(p)?.ppid ?? -1));
  }

  /** Stop the daemon and everything it spawned (workers, build hooks, their ssh). */
  async stopDaemon(): Promise<void> {
    for (const pid of this.adoptedDaemons()) {
      const tree = descendants(pid);
      await Promise.all(tree.filter(isAlive).map((p) => stopPid(p, { graceMs: 1000 })));
    }
    const d = this.daemon;
    if (!d) return;
    this.daemon = undefined;
    const tree = descendants(d.pid).filter((p) => p !== d.pid);
    await this.ns.stopServer(d);
    await Promise.all(tree.filter(isAlive).map((p) => stopPid(p, { graceMs: 1000 })));
    try {
      if (fs.statSync(DAEMON_SOCKET).isSocket() && !(await canConnect({ path: DAEMON_SOCKET }, 200))) {
        fs.rmSync(DAEMON_SOCKET, { force: true });
      }
    } catch {}
  }

  /**
   * Stop and start the daemon, so it re-reads /etc/nix/nix.conf. With env, the daemon runs
   * with exactly that environment from now on (DEFAULT_DAEMON_ENV to go back).
   */
  async restartDaemon(env?: Record<string, string>): Promise<void> {
    await this.stopDaemon();
    await this.startDaemon(env);
  }

  /** Stop the daemon and every process in the sandbox namespace. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.stopDaemon();
      await this.ns.destroy();
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.owner.disown(this);
      if (current === this) current = undefined;
    })();
    return this.stopping;
  }
}

let current: Sandbox | undefined;

/** Create the (single) sandbox root of this run and, by default, start its nix-daemon. */
export function createSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  return Sandbox.create(opts);
}

/**
 * A nix-daemon an earlier, killed run of the test bed left behind (crossnix restarted it inside
 * that run's sandbox, so no record names it): its TMPDIR lies under TESTBED_ROOT, which no other
 * daemon's does. Stopped by its PID, with a notice, so the next run does not depend on it.
 */
async function stopLeftoverDaemons(currentRun: string): Promise<void> {
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let environ: string;
    let exe: string;
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
      environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
    } catch {
      continue;
    }
    if (!exe.endsWith("/nix-daemon") && !exe.endsWith("/nix")) continue;
    const tmp =
      environ
        .split("\0")
        .find((v) => v.startsWith("TMPDIR="))
        ?.slice(7) ?? "";
    const run = path.relative(TESTBED_ROOT, tmp).split(path.sep)[0] ?? "";
    if (!run.startsWith("run-") || run === currentRun) continue;
    process.stderr.write(`crossnix test bed: stopping nix-daemon ${pid} left by an earlier run (${run})\n`);
    await stopPid(pid, { graceMs: 1000 });
  }
}
