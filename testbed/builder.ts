// Remote builders on loopback: one Unix user, one sshd and one Nix store per builder.
//
// Builder i (1-based, unique within a run) is user cxb<i>, listening on 127.0.0.<i+1> port
// basePort+i (default 2200+i). Its sshd runs as that user inside a private mount namespace
// where <dir>/nix is bind-mounted on /nix, <dir>/home on the user's home and <dir>/etc-nix on
// /etc/nix. So everything a session does — `nix-daemon --stdio`, `nix-store --serve`, the
// build itself — uses the builder's own store, and outputs really travel over SSH.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Identity } from "./identity.js";
import { clientIdentity } from "./identity.js";
import { MountNamespace, type NsExecOptions } from "./namespace.js";
import {
  canConnect,
  check,
  type ExecResult,
  exec,
  isAlive,
  procStat,
  type Server,
  signalPid,
  tail,
  waitForPort,
  waitUntil,
} from "./proc.js";
import { getRun, type Run } from "./run.js";
import { hostHasSudo, journal, mainPid, type UnitPaths, unitPaths, writeSudoers, writeUnitFiles } from "./service.js";
import { ensureUser, type UserInfo } from "./users.js";

/**
 * Faults a builder can be put into (and taken out of) with setFault:
 * - stopped: sshd killed → "Connection refused".
 * - hung: sshd SIGSTOPped → TCP connects, no SSH banner ever comes.
 * - hostKeyChanged: sshd restarted with a new host key.
 * - keyMissing: authorized_keys emptied (the client key is no longer accepted).
 * - untrusted: the builder becomes multi-user (root nix-daemon in its namespace, store owned
 *   by root) with trusted-users = root, so its SSH user is an untrusted client.
 * - remoteProgramNotOnPath: the session PATH (via ~/.ssh/environment) has no nix-* programs;
 *   they stay at /nix/var/nix/profiles/default/bin (as on macOS).
 * - noisyShell: the login shell prints a greeting on stdout (~/.bashrc: bash sources it for
 *   commands run by sshd, the classic real-world cause).
 * - diskFull: the builder's /nix (a tmpfs; needs diskSizeMb) is filled up.
 */
export type Fault =
  | "stopped"
  | "hung"
  | "hostKeyChanged"
  | "keyMissing"
  | "untrusted"
  | "remoteProgramNotOnPath"
  | "noisyShell"
  | "diskFull";

export const ALL_FAULTS: readonly Fault[] = [
  "stopped",
  "hung",
  "hostKeyChanged",
  "keyMissing",
  "untrusted",
  "remoteProgramNotOnPath",
  "noisyShell",
  "diskFull",
];

export interface BuilderOptions {
  /**
   * Systems the builder's Nix builds: the first is its `system`, the rest its
   * `extra-platforms` (emulated through binfmt_misc/QEMU). Default: odd builders the host's
   * system only, even builders also the other one (x86_64-linux ↔ aarch64-linux).
   */
  systems?: string[];
  /** `system-features`. Default ["nixos-test", "benchmark", "big-parallel"]. */
  features?: string[];
  /** The builder's own `max-jobs`. Default 4. */
  maxJobs?: number;
  /** Run a root nix-daemon in the builder (store owned by root); the SSH user is trusted. */
  multiUser?: boolean;
  /** Put the builder's /nix on a tmpfs of this size (MiB); needed for the diskFull fault. */
  diskSizeMb?: number;
  /** Authorise the test bed's client identity. Default true. */
  authorizeClient?: boolean;
  /** Extra lines for the builder's nix.conf. */
  nixConf?: string;
  /**
   * Passwordless sudo for the builder user, only inside the builder's namespace (its private
   * /etc/sudoers.d). Default false: sudo is there but asks for a password the user does not have.
   */
  sudo?: boolean;
  /** Faults to start in. */
  faults?: Fault[];
}

export interface StartBuildersOptions {
  /** Builder i listens on port basePort + i. Default 2200. */
  basePort?: number;
  /** Applied under each builder's own options. */
  defaults?: BuilderOptions;
  /** Per builder. Default 10 s. */
  readyTimeoutMs?: number;
}

/** The host's Nix system, and the other architecture the test bed emulates. */
export function hostSystem(): string {
  return process.arch === "arm64" ? "aarch64-linux" : "x86_64-linux";
}
export function emulatedSystem(): string {
  return process.arch === "arm64" ? "x86_64-linux" : "aarch64-linux";
}

const STD_PATH = "/usr/local/bin:/usr/bin:/bin";

export class Builder {
  /** e.g. "b2" */
  readonly name: string;
  /** The SSH user (cxb<i>). */
  readonly user: string;
  /** 127.0.0.<i+1> */
  readonly address: string;
  readonly port: number;
  /** This builder's directory on the host. */
  readonly dir: string;
  /** Host path of the builder's /nix. */
  readonly nixDir: string;
  /** Host path of the builder's /nix/store: check here that something was built there. */
  readonly storeDir: string;
  /** Host path of the builder's home directory. */
  readonly homeDir: string;
  readonly systems: readonly string[];
  readonly features: readonly string[];

  private sshd: Server | undefined;
  private daemon: Server | undefined;
  private readonly active = new Set<Fault>();
  private readonly authorized: string[] = [];
  private readonly sshdDir: string;
  private readonly hostKeyFile: string;
  private readonly unit: UnitPaths;
  private sudoOn = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly run: Run,
    readonly index: number,
    private readonly opts: Required<Pick<BuilderOptions, "maxJobs" | "multiUser" | "nixConf">> &
      Pick<BuilderOptions, "diskSizeMb">,
    private readonly account: UserInfo,
    basePort: number,
    systems: string[],
    features: string[],
    private readonly ns: MountNamespace,
    dirs: { dir: string },
  ) {
    this.name = `b${index}`;
    this.user = account.name;
    this.address = `127.0.0.${index + 1}`;
    this.port = basePort + index;
    this.dir = dirs.dir;
    this.nixDir = path.join(this.dir, "nix");
    this.storeDir = path.join(this.nixDir, "store");
    this.homeDir = path.join(this.dir, "home");
    this.sshdDir = path.join(this.dir, "sshd");
    this.hostKeyFile = path.join(this.sshdDir, "host_ed25519_key");
    this.unit = unitPaths(this.dir);
    this.systems = systems;
    this.features = features;
  }

  /** Current host public key, "ssh-ed25519 AAAA…" (no comment). */
  get hostKey(): string {
    const [type, key] = fs
      .readFileSync(this.hostKeyFile + ".pub", "utf8")
      .trim()
      .split(/\s+/);
    return `${type} ${key}`;
  }
  /** base64 of hostKey: machines column 8 / base64-ssh-public-host-key. */
  get hostKeyBase64(): string {
    return Buffer.from(this.hostKey).toString("base64");
  }
  /** A known_hosts line for this builder's address and port. */
  get knownHostsLine(): string {
    return `[${this.address}]:${this.port} ${this.hostKey}`;
  }
  /** PID of the running sshd (undefined while stopped). */
  get sshdPid(): number | undefined {
    return this.sshd && !this.sshd.hasExited ? this.sshd.pid : undefined;
  }
  /**
   * PID of the builder's root nix-daemon (multi-user / untrusted), if running: the MainPID of the
   * supervised unit, so it changes when `systemctl restart nix-daemon` runs on the builder.
   */
  get daemonPid(): number | undefined {
    return this.daemon && !this.daemon.hasExited ? mainPid(this.unit) : undefined;
  }
  /** The unit's journal: "started <pid>" / "stopped <pid> (<status>)" lines, oldest first. */
  daemonJournal(): string[] {
    return journal(this.unit);
  }
  /** Host path of the builder's /etc/nix (its nix.conf is what a multi-user daemon reads). */
  get etcNixDir(): string {
    return path.join(this.dir, "etc-nix");
  }
  /** Whether the builder user has passwordless sudo in the namespace now. */
  get sudo(): boolean {
    return this.sudoOn;
  }
  /** PID of the process holding the builder's mount namespace. */
  get namespacePid(): number {
    return this.ns.holderPid;
  }
  get sshdLog(): string {
    return path.join(this.dir, "sshd.log");
  }
  get faults(): ReadonlySet<Fault> {
    return this.active;
  }
  /** "ssh://cxb2@127.0.0.3" style destination without port (Nix 2.8 cannot take a port). */
  get sshUserHost(): string {
    return `${this.user}@${this.address}`;
  }

  // ---- setup ------------------------------------------------------------------------------

  static async start(run: Run, index: number, o: BuilderOptions, basePort: number, readyTimeoutMs: number) {
    const account = await ensureUser(`cxb${index}`);
    const dir = path.join(run.dir, `b${index}`);
    const nixDir = path.join(dir, "nix");
    const homeDir = path.join(dir, "home");
    const etcNix = path.join(dir, "etc-nix");
    const sshdDir = path.join(dir, "sshd");
    const tmpDir = path.join(dir, "tmp");
    const sudoersDir = path.join(dir, "sudoers.d");
    for (const d of [dir, nixDir, homeDir, etcNix, sshdDir, tmpDir]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    if (o.sudo && !hostHasSudo())
      throw new Error("builder option sudo needs Debian's sudo (run scripts/install-test-deps.sh)");
    if (hostHasSudo()) writeSudoers(sudoersDir, account.name, false);
    const unit = writeUnitFiles(dir);

    const address = `127.0.0.${index + 1}`;
    const port = basePort + index;
    if (await canConnect({ host: address, port }, 300)) {
      throw new Error(`${address}:${port} is already in use; builder b${index} cannot listen there`);
    }

    if (o.diskSizeMb !== undefined) {
      await check([
        "mount",
        "-t",
        "tmpfs",
        "-o",
        `size=${o.diskSizeMb}m,mode=0755,uid=${account.uid},gid=${account.gid}`,
        `testbed-b${index}`,
        nixDir,
      ]);
      run.trackMount(nixDir);
    }

    // A Nix layout like a real install: the programs at /nix/var/nix/profiles/default/bin
    // (here symlinks to Debian's /usr/bin/nix, a multi-call binary keyed on argv[0]).
    const profileBin = path.join(nixDir, "var/nix/profiles/default/bin");
    fs.mkdirSync(path.join(nixDir, "store"), { recursive: true, mode: 0o755 });
    fs.mkdirSync(profileBin, { recursive: true, mode: 0o755 });
    for (const p of NIX_PROGRAMS) fs.symlinkSync("/usr/bin/nix", path.join(profileBin, p));

    const systems = o.systems ?? (index % 2 === 1 ? [hostSystem()] : [hostSystem(), emulatedSystem()]);
    const features = o.features ?? ["nixos-test", "benchmark", "big-parallel"];

    const hostKeyFile = path.join(sshdDir, "host_ed25519_key");
    await check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `b${index}-host`, "-f", hostKeyFile]);
    fs.writeFileSync(path.join(sshdDir, "sshd_config"), sshdConfig(account.name, address, port, hostKeyFile));

    fs.mkdirSync(path.join(homeDir, ".ssh"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(homeDir, ".config/nix"), { recursive: true, mode: 0o755 });
    fs.chmodSync(homeDir, 0o700);
    // Ownership: everything the builder user touches is theirs. -h: never follow the profile
    // symlinks to /usr/bin/nix.
    await check(["chown", "-hR", `${account.uid}:${account.gid}`, homeDir, sshdDir, nixDir, tmpDir]);

    const ns = await MountNamespace.create(
      run,
      `builder b${index}`,
      [
        { source: nixDir, target: "/nix" },
        { source: homeDir, target: account.home },
        { source: etcNix, target: "/etc/nix" },
        // The builder's own sudo rules and systemctl (service.ts); the machine's stay untouched.
        ...(hostHasSudo() ? [{ source: sudoersDir, target: "/etc/sudoers.d" }] : []),
        ...(fs.existsSync("/usr/bin/systemctl") ? [{ source: unit.systemctl, target: "/usr/bin/systemctl" }] : []),
      ],
      path.join(dir, "namespace.log"),
    );
    if (!fs.existsSync("/usr/bin/systemctl")) {
      // No file to bind over: lay the stand-in over /usr/bin (read-only overlay, namespace only).
      const r = await ns.exec([
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${path.dirname(unit.systemctl)}:/usr/bin`,
        "/usr/bin",
      ]);
      if (r.exitCode !== 0) {
        await ns.destroy();
        throw new Error(`builder b${index}: cannot put the systemctl stand-in on /usr/bin: ${r.stderr}`);
      }
    }
    const b = new Builder(
      run,
      index,
      { maxJobs: o.maxJobs ?? 4, multiUser: o.multiUser ?? false, nixConf: o.nixConf ?? "", diskSizeMb: o.diskSizeMb },
      account,
      basePort,
      systems,
      features,
      ns,
      { dir },
    );
    run.own(b);
    try {
      if (o.authorizeClient ?? true) b.authorized.push((await clientIdentity()).publicKey);
      b.writeAuthorizedKeys();
      b.writeSshEnvironment();
      b.writeBashrc();
      b.writeNixConf();
      if (o.sudo) b.setSudo(true);
      if (b.opts.multiUser) await b.startDaemon();
      await b.startSshd(readyTimeoutMs);
      for (const f of o.faults ?? []) await b.setFault(f, true);
    } catch (e) {
      await b.stop().catch(() => {});
      throw e;
    }
    return b;
  }

  private trustedUsers(): string {
    return this.active.has("untrusted") ? "root" : `root ${this.user}`;
  }

  private nixConfText(): string {
    const [system, ...extra] = this.systems;
    return [
      `# crossnix test bed: builder ${this.name}`,
      `system = ${system}`,
      `extra-platforms = ${extra.join(" ")}`,
      `system-features = ${this.features.join(" ")}`,
      "sandbox = false",
      "build-users-group =",
      "substituters =",
      `max-jobs = ${this.opts.maxJobs}`,
      `trusted-users = ${this.trustedUsers()}`,
      this.opts.nixConf,
      "",
    ].join("\n");
  }

  /** The builder's settings: /etc/nix/nix.conf (read by its daemon) and the user's nix.conf. */
  private writeNixConf(): void {
    const text = this.nixConfText();
    fs.writeFileSync(path.join(this.dir, "etc-nix/nix.conf"), text);
    this.writeUserFile(".config/nix/nix.conf", text.replace(/^trusted-users = .*\n/m, ""), 0o644);
  }

  private writeUserFile(rel: string, text: string, mode: number): void {
    const p = path.join(this.homeDir, rel);
    fs.writeFileSync(p + ".tmp", text, { mode });
    fs.chownSync(p + ".tmp", this.account.uid, this.account.gid);
    fs.chmodSync(p + ".tmp", mode);
    fs.renameSync(p + ".tmp", p);
  }

  private writeAuthorizedKeys(): void {
    const lines = this.active.has("keyMissing") ? [] : this.authorized;
    this.writeUserFile(".ssh/authorized_keys", lines.map((l) => l + "\n").join(""), 0o600);
  }

  /**
   * ~/.ssh/environment (sshd has PermitUserEnvironment yes): how the PATH fault works. TMPDIR
   * keeps the builder's temporary files (nix-build-… dirs of killed builds) in its directory.
   */
  private writeSshEnvironment(): void {
    const lines: string[] = [`TMPDIR=${this.tmpDir}`];
    if (this.active.has("remoteProgramNotOnPath")) lines.push(`PATH=${noNixBin(this.run)}`);
    this.writeUserFile(".ssh/environment", lines.map((l) => l + "\n").join(""), 0o600);
  }

  /**
   * ~/.bashrc: bash sources it (and /etc/bash.bashrc) for `bash -c` commands run by sshd —
   * it detects sshd via SSH_CLIENT or a socket on stdin — and then skips BASH_ENV.
   */
  private writeBashrc(): void {
    const noisy = this.active.has("noisyShell")
      ? `echo "Welcome to crossnix test builder ${this.name} ($USER)!"\n`
      : "";
    this.writeUserFile(".bashrc", `# crossnix test bed (noisyShell fault when not empty)\n${noisy}`, 0o644);
  }

  private async startSshd(readyTimeoutMs = 10_000): Promise<void> {
    const s = await this.ns.startServer(["/usr/sbin/sshd", "-D", "-e", "-f", path.join(this.sshdDir, "sshd_config")], {
      user: this.account,
      cwd: "/",
      env: { PATH: STD_PATH },
      logFile: this.sshdLog,
      label: `sshd ${this.name}`,
    });
    this.sshd = s;
    try {
      await waitForPort(this.address, this.port, readyTimeoutMs, () => !s.hasExited);
    } catch (e) {
      throw new Error(`builder ${this.name}: sshd did not come up: ${(e as Error).message}\n${tail(this.sshdLog)}`);
    }
  }

  private async stopSshd(): Promise<void> {
    if (this.sshd) await this.ns.stopServer(this.sshd);
    this.sshd = undefined;
  }

  private async restartSshd(): Promise<void> {
    await this.stopSshd();
    if (this.active.has("stopped")) return;
    await this.startSshd();
    if (this.active.has("hung")) await setStopped(this.sshd!.pid, true);
  }

  private get tmpDir(): string {
    return path.join(this.dir, "tmp");
  }

  private get daemonSocket(): string {
    return path.join(this.nixDir, "var/nix/daemon-socket/socket");
  }

  /**
   * Multi-user: the store belongs to root and a root nix-daemon serves it in the namespace, under
   * the supervisor that the builder's `systemctl restart nix-daemon` signals (service.ts).
   */
  private async startDaemon(): Promise<void> {
    await check(["chown", "-hR", "0:0", this.nixDir]);
    fs.rmSync(this.daemonSocket, { force: true });
    const argv = [
      "/bin/sh",
      this.unit.supervisor,
      this.unit.stateDir,
      "/nix/var/nix/daemon-socket/socket",
      "--",
      "/usr/bin/nix-daemon",
    ];
    const d = await this.ns.startServer(argv, {
      cwd: "/",
      // No user-level nix.conf for the daemon: only the builder's /etc/nix/nix.conf counts.
      env: { PATH: STD_PATH, HOME: "/root", NIX_USER_CONF_FILES: "/dev/null", TMPDIR: this.tmpDir },
      logFile: path.join(this.dir, "daemon.log"),
      label: `nix-daemon ${this.name}`,
    });
    this.daemon = d;
    await waitUntil(
      `the nix-daemon of ${this.name}`,
      async () => {
        if (d.hasExited)
          throw new Error(`nix-daemon of ${this.name} exited:\n${tail(path.join(this.dir, "daemon.log"))}`);
        return canConnect({ path: this.daemonSocket }, 200);
      },
      10_000,
    );
  }

  private async stopDaemon(): Promise<void> {
    if (this.daemon) await this.ns.stopServer(this.daemon);
    this.daemon = undefined;
  }

  /** Back to single-user: no daemon, the store belongs to the builder user again. */
  private async toSingleUser(): Promise<void> {
    await this.stopDaemon();
    fs.rmSync(this.daemonSocket, { force: true });
    await check(["chown", "-hR", `${this.account.uid}:${this.account.gid}`, this.nixDir]);
  }

  // ---- faults -------------------------------------------------------------------------------

  /** Switch a fault on (default) or off. Idempotent. */
  async setFault(fault: Fault, on = true): Promise<void> {
    if (this.active.has(fault) === on) return;
    if (on) this.active.add(fault);
    else this.active.delete(fault);
    try {
      await this.applyFault(fault, on);
    } catch (e) {
      if (on) this.active.delete(fault);
      else this.active.add(fault);
      throw e;
    }
  }

  /** Switch every active fault off. */
  async clearFaults(): Promise<void> {
    for (const f of [...this.active].reverse()) await this.setFault(f, false);
  }

  private async applyFault(fault: Fault, on: boolean): Promise<void> {
    switch (fault) {
      case "stopped":
        if (on) await this.stopSshd();
        else await this.restartSshd();
        return;
      case "hung":
        if (this.sshd) await setStopped(this.sshd.pid, on);
        return;
      case "hostKeyChanged": {
        const orig = this.hostKeyFile + ".orig";
        if (on) {
          for (const ext of ["", ".pub"]) fs.renameSync(this.hostKeyFile + ext, orig + ext);
          await check([
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            `${this.name}-host-new`,
            "-f",
            this.hostKeyFile,
          ]);
          fs.chownSync(this.hostKeyFile, this.account.uid, this.account.gid);
        } else {
          for (const ext of ["", ".pub"]) fs.renameSync(orig + ext, this.hostKeyFile + ext);
        }
        await this.restartSshd();
        return;
      }
      case "keyMissing":
        this.writeAuthorizedKeys();
        return;
      case "remoteProgramNotOnPath":
        this.writeSshEnvironment();
        return;
      case "noisyShell":
        this.writeBashrc();
        return;
      case "untrusted":
        this.writeNixConf();
        if (on || this.opts.multiUser) {
          await this.stopDaemon();
          await this.startDaemon();
        } else {
          await this.toSingleUser();
        }
        return;
      case "diskFull":
        if (this.opts.diskSizeMb === undefined) {
          throw new Error(`builder ${this.name}: diskFull needs the builder started with diskSizeMb`);
        }
        if (on) await fillUp(this.nixDir);
        else for (const f of FILLERS) fs.rmSync(path.join(this.nixDir, f), { force: true });
        return;
    }
  }

  // ---- sudo ---------------------------------------------------------------------------------

  /** Give (or take away) the builder user passwordless sudo, inside the builder's namespace only. */
  setSudo(on: boolean): void {
    if (!hostHasSudo()) throw new Error("sudo is not installed (run scripts/install-test-deps.sh)");
    writeSudoers(path.join(this.dir, "sudoers.d"), this.user, on);
    this.sudoOn = on;
  }

  // ---- keys ---------------------------------------------------------------------------------

  /** Accept this public key ("ssh-ed25519 AAAA…") for the builder user. */
  authorize(publicKey: string): void {
    const k = publicKey.trim();
    if (!this.authorized.includes(k)) this.authorized.push(k);
    this.writeAuthorizedKeys();
  }

  /** Stop accepting this public key (compared by type and key, not comment). */
  unauthorize(publicKey: string): void {
    const id = (l: string) => l.trim().split(/\s+/).slice(0, 2).join(" ");
    const drop = id(publicKey);
    const keep = this.authorized.filter((l) => id(l) !== drop);
    this.authorized.splice(0, this.authorized.length, ...keep);
    this.writeAuthorizedKeys();
  }

  // ---- inspection -----------------------------------------------------------------------------

  /** Run argv inside the builder's namespace as its user (or root with asRoot), no SSH. */
  exec(argv: readonly string[], opts: Omit<NsExecOptions, "user"> & { asRoot?: boolean } = {}): Promise<ExecResult> {
    const user = opts.asRoot ? undefined : this.account;
    return this.ns.exec(argv, {
      ...opts,
      user,
      cwd: opts.cwd ?? (user ? user.home : "/"),
      env: {
        PATH: STD_PATH,
        HOME: user ? user.home : "/root",
        USER: this.user,
        LOGNAME: this.user,
        TMPDIR: this.tmpDir,
        ...opts.env,
      },
    });
  }

  /**
   * Run a command over real SSH from the host (as root, ignoring root's ssh config), with this
   * builder's current host key pinned. Default identity: the test bed's client key.
   */
  async ssh(command: string, opts: { identity?: Identity; timeoutMs?: number } = {}): Promise<ExecResult> {
    const id = opts.identity ?? (await clientIdentity());
    const kh = path.join(this.dir, "known_hosts.host");
    fs.writeFileSync(kh, this.knownHostsLine + "\n");
    return exec(
      [
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        `UserKnownHostsFile=${kh}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=5",
        "-i",
        id.privateKeyPath,
        "-p",
        String(this.port),
        `${this.user}@${this.address}`,
        command,
      ],
      { timeoutMs: opts.timeoutMs ?? 20_000, env: { PATH: STD_PATH } },
    );
  }

  /** True if the store path (or its basename) exists in this builder's store. */
  hasPath(storePath: string): boolean {
    return fs.existsSync(path.join(this.storeDir, path.basename(storePath)));
  }

  /** The store path's content in this builder's store (a file's text). */
  readPath(storePath: string): string {
    return fs.readFileSync(path.join(this.storeDir, path.basename(storePath)), "utf8");
  }

  /** True if this builder's Nix kept a build log for the .drv: it built it (not just copied). */
  hasBuildLog(drvPath: string): boolean {
    const base = path.basename(drvPath);
    const d = path.join(this.nixDir, "var/log/nix/drvs", base.slice(0, 2));
    return fs.existsSync(path.join(d, base.slice(2) + ".bz2")) || fs.existsSync(path.join(d, base.slice(2)));
  }

  /** Everything stops: sshd, daemon, every process in the namespace; tmpfs unmounted. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sshd && isAlive(this.sshd.pid)) signalPid(this.sshd.pid, "SIGCONT");
      await this.stopSshd();
      await this.stopDaemon();
      await this.ns.destroy();
      if (this.opts.diskSizeMb !== undefined) {
        await check(["umount", this.nixDir]).catch(() => check(["umount", "-l", this.nixDir]));
        this.run.untrackMount(this.nixDir);
      }
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.run.disown(this);
      usedIndexes.get(this.run)?.delete(this.index);
    })();
    return this.stopping;
  }

  toJSON() {
    return {
      name: this.name,
      user: this.user,
      address: this.address,
      port: this.port,
      systems: this.systems,
      features: this.features,
      hostKey: this.hostKey,
      storeDir: this.storeDir,
      sshdPid: this.sshdPid,
      daemonPid: this.daemonPid,
      faults: [...this.active],
    };
  }
}

const NIX_PROGRAMS = [
  "nix",
  "nix-build",
  "nix-channel",
  "nix-collect-garbage",
  "nix-copy-closure",
  "nix-daemon",
  "nix-env",
  "nix-hash",
  "nix-instantiate",
  "nix-prefetch-url",
  "nix-shell",
  "nix-store",
];

/** SIGSTOP / SIGCONT a process and wait until the kernel shows it (state T or not). */
async function setStopped(pid: number, stopped: boolean): Promise<void> {
  signalPid(pid, stopped ? "SIGSTOP" : "SIGCONT");
  await waitUntil(
    `pid ${pid} to be ${stopped ? "stopped" : "running"}`,
    () => (procStat(pid)?.state === "T") === stopped,
    2000,
    2,
  );
}

const FILLERS = [".testbed-filler", ".testbed-filler-2"];

async function fillUp(dir: string): Promise<void> {
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  if (free > 0) await check(["fallocate", "-l", String(free), path.join(dir, FILLERS[0]!)]).catch(() => {});
  // Whatever fallocate left: write until ENOSPC.
  await exec(["dd", "if=/dev/zero", `of=${path.join(dir, FILLERS[1]!)}`, "bs=4096"]);
}

function sshdConfig(user: string, address: string, port: number, hostKey: string): string {
  return `# crossnix test bed builder sshd, run as ${user} (so only ${user} can log in)
ListenAddress ${address}:${port}
HostKey ${hostKey}
PidFile none
UsePAM no
StrictModes yes
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers ${user}
# ~/.ssh/environment carries the PATH fault (remoteProgramNotOnPath).
PermitUserEnvironment yes
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
LogLevel VERBOSE
Subsystem sftp internal-sftp
`;
}

function noNixBin(run: Run): string {
  const dir = path.join(run.dir, "no-nix-bin");
  if (!fs.existsSync(dir)) {
    // A PATH directory with everything in /usr/bin except Nix's programs.
    const tmp = dir + ".tmp";
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o755 });
    for (const n of fs.readdirSync("/usr/bin")) {
      if (n === "nix" || n.startsWith("nix-")) continue;
      fs.symlinkSync(path.join("/usr/bin", n), path.join(tmp, n));
    }
    fs.renameSync(tmp, dir);
  }
  return dir;
}

const usedIndexes = new WeakMap<Run, Set<number>>();

/**
 * Start builders in parallel. `count` builders with default options, or one per spec.
 * Each gets the lowest free index of the run (b1, b2, … ; a stopped builder's index is free
 * again), hence user cxb<i>, address 127.0.0.<i+1>, port basePort+i.
 */
export async function startBuilders(
  countOrSpecs: number | BuilderOptions[],
  opts: StartBuildersOptions = {},
): Promise<Builder[]> {
  const run = await getRun();
  const specs = typeof countOrSpecs === "number" ? Array.from({ length: countOrSpecs }, () => ({})) : countOrSpecs;
  const used = usedIndexes.get(run) ?? new Set<number>();
  usedIndexes.set(run, used);
  const indexes: number[] = [];
  for (let i = 1; indexes.length < specs.length; i++) {
    if (!used.has(i)) {
      used.add(i);
      indexes.push(i);
    }
  }
  if (indexes.some((i) => i > 250)) throw new Error("at most 250 builders (127.0.0.2–127.0.0.251)");
  // Users first, one at a time (useradd locks /etc/passwd), then everything else in parallel.
  for (const i of indexes) await ensureUser(`cxb${i}`);
  const results = await Promise.allSettled(
    specs.map((s, k) =>
      Builder.start(run, indexes[k]!, { ...opts.defaults, ...s }, opts.basePort ?? 2200, opts.readyTimeoutMs ?? 10_000),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<Builder>).value);
}
