// A `limactl` stand-in on PATH: Lima's command-line subset crossnix uses, with the output shapes,
// stderr texts and exit codes of Lima 1.x and 2.x (docs/lima.md), whose "VMs" are real test-bed
// builders (sshd + their own Nix store) reached through a forwarder on 127.0.0.1:<sshLocalPort>,
// as Lima's host agent forwards a VM's SSH. See README.md "Lima stand-in".
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { type Builder, emulatedSystem, hostSystem, startBuilders } from "./builder.js";
import { getRun, type Run, type Stoppable } from "./run.js";

export interface LimaStandinOptions {
  /** The Lima version it plays, e.g. "1.2.3", "2.1.0", "2.2.0" (flags, quoting and Broken listing differ). */
  version?: string;
  /**
   * Lima refuses to run as root. Tests run crossnix as root in the sandbox, so the stand-in is told
   * which ordinary user it runs as (LIMA_STANDIN_AS_USER); without it, as root, it refuses like Lima.
   */
  asUser?: string | null;
}

interface Instance {
  name: string;
  config: Record<string, unknown> & { ssh: { localPort: number }; user: { name: string } };
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  rosetta: boolean;
  builder: Builder;
  forwarder: net.Server | null;
  autostart: "login" | "boot" | null;
  /** Made by `limactl start <missing>` (Lima's deprecated create-from-default form). */
  createdByStart: boolean;
}

interface Reply {
  stdout: string;
  stderr: string;
  code: number;
}

interface Request {
  argv: string[];
  uid: number;
  env: Record<string, string | undefined>;
  stdin: string;
}

const GIB = 1024 ** 3;

/** The client the generated `limactl` script runs: forwards argv, uid, env and stdin; prints the reply. */
const CLIENT = `import net from "node:net";
const chunks = [];
if (!process.stdin.isTTY) for await (const c of process.stdin) chunks.push(c);
const req = JSON.stringify({ argv: process.argv.slice(2), uid: process.getuid(), env: { LIMA_STANDIN_AS_USER: process.env.LIMA_STANDIN_AS_USER }, stdin: Buffer.concat(chunks).toString("utf8") });
const sock = net.connect(__SOCKET__);
let data = "";
sock.on("data", (d) => { data += d; });
sock.on("end", () => { if (!data) { process.stderr.write("limactl stand-in: no reply\\n"); process.exit(1); } const r = JSON.parse(data); process.stdout.write(r.stdout); process.stderr.write(r.stderr); process.exit(r.code); });
sock.on("error", (e) => { process.stderr.write("limactl stand-in: " + e.message + "\\n"); process.exit(1); });
sock.end(req);
`;

export class LimaStandin implements Stoppable {
  readonly version: string;
  /** Directory to put first on PATH: holds `limactl`. */
  readonly binDir: string;
  /** LIMA_HOME: one directory per instance (lima.yaml) and _config/user, Lima's SSH key. */
  readonly limaHome: string;
  readonly socketPath: string;
  asUser: string | null;
  /**
   * When set, `start` never becomes ready and fails as Lima does after its --timeout; the stand-in
   * waits this many milliseconds instead of the whole timeout (Lima's default is 10 minutes).
   */
  hangOnStartMs: number | null = null;
  /** Every argv it was called with, oldest first. */
  readonly calls: string[][] = [];
  private readonly instances = new Map<string, Instance>();
  private server: net.Server | null = null;

  private constructor(
    private readonly run: Run,
    dir: string,
    options: LimaStandinOptions,
  ) {
    this.version = options.version ?? "2.2.0";
    this.asUser = options.asUser === undefined ? "cxclient" : options.asUser;
    this.binDir = path.join(dir, "bin");
    this.limaHome = path.join(dir, "lima-home");
    this.socketPath = path.join(dir, "limactl.sock");
  }

  static async start(options: LimaStandinOptions = {}): Promise<LimaStandin> {
    const run = await getRun();
    const dir = fs.mkdtempSync(path.join(run.dir, "lima-"));
    fs.chmodSync(dir, 0o755);
    const standin = new LimaStandin(run, dir, options);
    fs.mkdirSync(standin.binDir, { recursive: true });
    fs.mkdirSync(path.join(standin.limaHome, "_config"), { recursive: true });
    const key = path.join(standin.limaHome, "_config", "user");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lima", "-f", key]);
    const client = path.join(dir, "limactl-client.mjs");
    fs.writeFileSync(client, CLIENT.replace("__SOCKET__", JSON.stringify(standin.socketPath)));
    fs.writeFileSync(path.join(standin.binDir, "limactl"), `#!/bin/sh\nexec ${process.execPath} ${client} "$@"\n`, {
      mode: 0o755,
    });
    // allowHalfOpen: the client ends its side after the request and still reads the reply.
    standin.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      let data = "";
      socket.on("data", (d) => {
        data += d;
      });
      socket.on("end", () => {
        standin
          .handle(JSON.parse(data) as Request)
          .catch((e: Error) => ({ stdout: "", stderr: `stand-in crashed: ${e.stack}\n`, code: 99 }))
          .then((reply) => socket.end(JSON.stringify(reply)));
      });
    });
    await new Promise<void>((resolve) => standin.server!.listen(standin.socketPath, resolve));
    run.own(standin);
    return standin;
  }

  /** Environment for crossnix: PATH with `limactl` first, LIMA_HOME, and the user it pretends to run as. */
  env(basePath = "/usr/local/bin:/usr/bin:/bin"): Record<string, string> {
    return {
      PATH: `${this.binDir}:${basePath}`,
      LIMA_HOME: this.limaHome,
      ...(this.asUser ? { LIMA_STANDIN_AS_USER: this.asUser } : {}),
    };
  }

  get userKeyPath(): string {
    return path.join(this.limaHome, "_config", "user");
  }

  instance(
    name: string,
  ): { builder: Builder; running: boolean; autostart: string | null; createdByStart: boolean } | null {
    const i = this.instances.get(name);
    return i
      ? { builder: i.builder, running: i.forwarder !== null, autostart: i.autostart, createdByStart: i.createdByStart }
      : null;
  }

  /** Makes the instance Broken: its lima.yaml disappears (what `list` reports differs by version). */
  breakInstance(name: string): void {
    fs.rmSync(path.join(this.limaHome, name, "lima.yaml"), { force: true });
  }

  async stop(): Promise<void> {
    for (const i of this.instances.values()) {
      i.forwarder?.close();
      await i.builder.stop().catch(() => {});
    }
    this.instances.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
    this.run.disown(this);
  }

  // ---- Lima's behaviour ---------------------------------------------------------------------

  private get major(): number {
    return Number(this.version.split(".")[0]);
  }
  private atLeast(major: number, minor: number): boolean {
    const [a, b] = this.version.split(".").map(Number) as [number, number];
    return a > major || (a === major && b >= minor);
  }
  /** v2 quotes instance names with backticks (%#q), v1 with double quotes (%q). */
  private q(name: string): string {
    return this.major >= 2 ? `\`${name}\`` : JSON.stringify(name);
  }
  private log(level: "info" | "warning" | "fatal", msg: string): string {
    return `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }
  private fatal(msg: string, before = ""): Reply {
    return { stdout: "", stderr: before + this.log("fatal", msg), code: 1 };
  }

  private async handle(req: Request): Promise<Reply> {
    this.calls.push(req.argv);
    const args = req.argv.filter((a) => !/^(--tty(=\w+)?|-y|--yes|--debug)$/.test(a));
    if (args[0] === "--version" || args[0] === "-v")
      return { stdout: `limactl version ${this.version}\n`, stderr: "", code: 0 };
    if (req.uid === 0 && !req.env["LIMA_STANDIN_AS_USER"]) {
      return { stdout: "", stderr: "limactl: must not run as the root user\n", code: 1 };
    }
    const [command, ...rest] = args;
    switch (command) {
      case "list":
      case "ls":
        return this.list(rest);
      case "create":
        return this.create(rest);
      case "start":
        return this.startInstance(rest);
      case "stop":
        return this.stopInstance(rest);
      case "delete":
      case "rm":
      case "remove":
        return this.deleteInstances(rest);
      case "shell":
        return this.shell(rest, req.stdin);
      case "autostart":
        return this.autostart(rest);
      case "start-at-login":
        return this.startAtLogin(rest);
      default:
        return this.fatal(`unknown command ${JSON.stringify(command)} for "limactl"`);
    }
  }

  private line(i: Instance, status: string): string {
    const dir = path.join(this.limaHome, i.name);
    const config = { ...i.config };
    const o: Record<string, unknown> = {
      name: i.name,
      hostname: `lima-${i.name.replace(/[._]/g, "-")}`,
      status,
      dir,
      vmType: "vz",
      arch: "aarch64",
      ...(this.major < 2 ? { cpuType: "" } : {}),
      cpus: i.cpus,
      memory: i.memoryBytes,
      disk: i.diskBytes,
      sshLocalPort: i.config.ssh.localPort,
      sshConfigFile: path.join(dir, "ssh.config"),
      ...(status === "Running" ? { hostAgentPID: process.pid, driverPID: process.pid } : {}),
      config,
      sshAddress: "127.0.0.1",
      protected: false,
      limaVersion: this.version,
      HostOS: "darwin",
      HostArch: "aarch64",
      LimaHome: this.limaHome,
      IdentityFile: this.userKeyPath,
    };
    if (this.major < 2 && o["cpuType"] === "") o["cpuType"] = "cortex-a72";
    return `${JSON.stringify(o)}\n`;
  }

  private list(args: string[]): Reply {
    const json =
      args.includes("--json") || args.some((a, k) => a === "json" && ["--format", "-f"].includes(args[k - 1] ?? ""));
    if (!json) return this.fatal("the stand-in implements only list --json");
    const names = args.filter((a, k) => !a.startsWith("-") && !["--format", "-f"].includes(args[k - 1] ?? ""));
    const known = [...this.instances.keys()].sort();
    if (known.length === 0 && names.length === 0) {
      return {
        stdout: "",
        stderr: this.log("warning", "No instance found. Run `limactl create` to create an instance."),
        code: 0,
      };
    }
    let stdout = "";
    let stderr = "";
    for (const name of names.length ? names : known) {
      const i = this.instances.get(name);
      if (!i) {
        stderr += this.log("warning", `No instance matching ${name} found.`);
        continue;
      }
      const yaml = path.join(this.limaHome, name, "lima.yaml");
      if (!fs.existsSync(yaml)) {
        if (!this.atLeast(2, 2)) {
          return {
            stdout,
            stderr:
              stderr + this.log("fatal", `unable to load instance ${name}: open ${yaml}: no such file or directory`),
            code: 1,
          };
        }
        stdout += `${JSON.stringify({ name, hostname: `lima-${name}`, status: "Broken", dir: path.dirname(yaml), protected: false, limaVersion: this.version })}\n`;
        stderr += this.log("warning", `instance ${this.q(name)} has errors`);
        continue;
      }
      stdout += this.line(i, i.forwarder ? "Running" : "Stopped");
    }
    if (names.some((n) => !this.instances.has(n)))
      return { stdout, stderr: stderr + this.log("fatal", "unmatched instances"), code: 1 };
    return { stdout, stderr, code: 0 };
  }

  private flags(args: string[]): { values: Map<string, string[]>; positional: string[]; unknown: string | null } {
    const values = new Map<string, string[]>();
    const positional: string[] = [];
    const boolean = new Set(["--rosetta", "--mount-none", "--plain", "-f", "--force", "--start"]);
    const known = new Set([
      ...boolean,
      "--name",
      "--cpus",
      "--memory",
      "--disk",
      "--vm-type",
      "--arch",
      "--containerd",
      "--set",
      "--timeout",
      "--workdir",
      "--condition",
      "--enabled",
      "--ssh-port",
    ]);
    let unknown: string | null = null;
    for (let k = 0; k < args.length; k++) {
      const a = args[k]!;
      if (a === "--") {
        positional.push(...args.slice(k + 1));
        break;
      }
      if (!a.startsWith("-")) {
        positional.push(a);
        continue;
      }
      const [flag, inline] = a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
      if (!known.has(flag!) || (flag === "--ssh-port" && this.major < 2)) {
        unknown ??= flag!;
        continue;
      }
      const value = boolean.has(flag!) ? (inline ?? "true") : (inline ?? args[++k] ?? "");
      values.set(flag!, [...(values.get(flag!) ?? []), value]);
    }
    return { values, positional, unknown };
  }

  private async create(args: string[], createdByStart = false): Promise<Reply> {
    const { values, positional, unknown } = this.flags(args);
    if (unknown) return this.fatal(`unknown flag: ${unknown}`);
    const name = values.get("--name")?.[0] ?? "default";
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return this.fatal(`instance name ${this.q(name)} is invalid`);
    if (this.instances.has(name)) return this.fatal(`instance ${this.q(name)} already exists`);
    const template = positional[0] ?? "template://default";
    if (template === "template:default" && this.major < 2)
      return this.fatal(`template ${JSON.stringify(template)} not found`);
    const sets = values.get("--set") ?? [];
    if (sets.length > 1 && this.major < 2)
      return this.fatal(`flag --set given ${sets.length} times (v1 takes one string)`);
    let port = Number(values.get("--ssh-port")?.[0] ?? 0);
    for (const s of sets) {
      const m = /^\.ssh\.localPort\s*=\s*(\d+)$/.exec(s.trim());
      if (m) port = Number(m[1]);
    }
    const rosetta = values.has("--rosetta") && values.get("--rosetta")![0] !== "false" && !values.has("--plain");
    const [builder] = await startBuilders([
      { systems: [hostSystem(), emulatedSystem()], authorizeClient: false, sudo: true },
    ]);
    builder!.authorize(fs.readFileSync(`${this.userKeyPath}.pub`, "utf8"));
    await builder!.setFault("stopped", true);
    const cpus = Number(values.get("--cpus")?.[0] ?? 4);
    const memory = Number(values.get("--memory")?.[0] ?? 4);
    const disk = Number(values.get("--disk")?.[0] ?? 100);
    const rosettaConfig = { enabled: rosetta, binfmt: rosetta };
    const config = {
      vmType: values.get("--vm-type")?.[0] ?? "vz",
      ...(this.major >= 2 ? { vmOpts: { vz: { rosetta: rosettaConfig } } } : { rosetta: rosettaConfig }),
      arch: "aarch64",
      cpus,
      memory: `${memory}GiB`,
      disk: `${disk}GiB`,
      mounts: values.has("--mount-none") ? [] : [{ location: "~", writable: false }],
      containerd: { system: false, user: values.get("--containerd")?.[0] !== "none" },
      ssh: { localPort: port, loadDotSSHPubKeys: false },
      user: { name: builder!.user, uid: 1000 },
    };
    const instance: Instance = {
      name,
      config,
      cpus,
      memoryBytes: memory * GIB,
      diskBytes: disk * GIB,
      rosetta,
      builder: builder!,
      forwarder: null,
      autostart: null,
      createdByStart,
    };
    this.instances.set(name, instance);
    const dir = path.join(this.limaHome, name);
    fs.mkdirSync(dir, { recursive: true });
    // lima.yaml: YAML is a superset of JSON.
    fs.writeFileSync(path.join(dir, "lima.yaml"), `${JSON.stringify({ ...config, template }, null, 2)}\n`);
    return { stdout: "", stderr: this.log("info", `Run \`limactl start ${name}\` to start the instance.`), code: 0 };
  }

  private async startInstance(args: string[]): Promise<Reply> {
    const { values, positional, unknown } = this.flags(args);
    if (unknown) return this.fatal(`unknown flag: ${unknown}`);
    const name = values.get("--name")?.[0] ?? positional[0] ?? "default";
    let before = "";
    if (!this.instances.has(name)) {
      // Lima's deprecated form: `start <missing>` creates it from the default (Ubuntu) template.
      before = this.log("warning", "This form is deprecated. Use `limactl create` instead.");
      const made = await this.create(["--name", name], true);
      if (made.code !== 0) return made;
    }
    const i = this.instances.get(name)!;
    if (!fs.existsSync(path.join(this.limaHome, name, "lima.yaml"))) {
      return this.fatal(`open ${path.join(this.limaHome, name, "lima.yaml")}: no such file or directory`, before);
    }
    if (i.forwarder) {
      return {
        stdout: "",
        stderr:
          before +
          this.log(
            "info",
            `The instance ${this.q(name)} is already running. Run \`limactl shell ${name}\` to open the shell.`,
          ),
        code: 0,
      };
    }
    if (this.hangOnStartMs !== null) {
      const timeout = Math.min(this.hangOnStartMs, parseDuration(values.get("--timeout")?.[0] ?? "10m"));
      await new Promise((r) => setTimeout(r, timeout));
      return this.fatal(
        'did not receive an event with the "running" status',
        before + this.log("info", 'Waiting for the essential requirement 1 of 2: "ssh"'),
      );
    }
    await i.builder.setFault("stopped", false);
    if (i.config.ssh.localPort === 0) i.config.ssh.localPort = await freePort();
    i.forwarder = await forward(i.config.ssh.localPort, i.builder.address, i.builder.port);
    const sshConfig = [
      "# This SSH config file can be passed to 'ssh -F'.",
      "# This file is created by Lima, but not used by Lima itself currently.",
      "# Modifications to this file will be lost on restarting the Lima instance.",
      `Host lima-${name}`,
      `  IdentityFile "${this.userKeyPath}"`,
      "  StrictHostKeyChecking no",
      "  UserKnownHostsFile /dev/null",
      "  NoHostAuthenticationForLocalhost yes",
      "  PreferredAuthentications publickey",
      "  BatchMode yes",
      "  IdentitiesOnly yes",
      `  User ${i.config.user.name}`,
      "  Hostname 127.0.0.1",
      `  Port ${i.config.ssh.localPort}`,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(this.limaHome, name, "ssh.config"), sshConfig, { mode: 0o600 });
    return {
      stdout: "",
      stderr: before + this.log("info", `READY. Run \`limactl shell ${name}\` to open the shell.`),
      code: 0,
    };
  }

  private async stopInstance(args: string[]): Promise<Reply> {
    const { positional } = this.flags(args);
    const name = positional[0] ?? "default";
    const i = this.instances.get(name);
    if (!i || !fs.existsSync(path.join(this.limaHome, name, "lima.yaml"))) {
      return this.fatal(`open ${path.join(this.limaHome, name, "lima.yaml")}: no such file or directory`);
    }
    if (!i.forwarder)
      return this.fatal(
        `expected status ${this.q("Running")}, got ${this.q("Stopped")} (maybe use \`limactl stop -f\`?)`,
      );
    await this.halt(i);
    return { stdout: "", stderr: this.log("info", "Shutting down the host agent"), code: 0 };
  }

  private async halt(i: Instance): Promise<void> {
    await new Promise<void>((resolve) => i.forwarder!.close(() => resolve()));
    i.forwarder = null;
    await i.builder.setFault("stopped", true);
  }

  private async deleteInstances(args: string[]): Promise<Reply> {
    const { positional } = this.flags(args);
    let stderr = "";
    for (const name of positional) {
      const i = this.instances.get(name);
      if (!i) {
        stderr += this.log("warning", `Ignoring non-existent instance ${this.q(name)}`);
        continue;
      }
      if (i.forwarder) await this.halt(i);
      await i.builder.stop();
      this.instances.delete(name);
      fs.rmSync(path.join(this.limaHome, name), { recursive: true, force: true });
      stderr += this.log("info", `Deleted ${this.q(name)} (${JSON.stringify(path.join(this.limaHome, name))})`);
    }
    return { stdout: "", stderr, code: 0 };
  }

  private async shell(args: string[], stdin: string): Promise<Reply> {
    const { positional } = this.flags(args);
    const [name, ...cmd] = positional;
    const command = cmd;
    const i = name ? this.instances.get(name) : undefined;
    if (!name || !i)
      return this.fatal(
        `instance ${this.q(name ?? "")} does not exist, run \`limactl create ${name}\` to create a new instance`,
      );
    if (!i.forwarder)
      return this.fatal(`instance ${this.q(name)} is stopped, run \`limactl start ${name}\` to start the instance`);
    // The guest's host key lives in the builder's sshd directory, not /etc/ssh (the stand-in's one mapping).
    const hostKey = path.join(i.builder.dir, "sshd", "host_ed25519_key.pub");
    const script = command.map((w) => w.replaceAll("/etc/ssh/ssh_host_ed25519_key.pub", hostKey));
    // Lima runs the command through the user's login shell ($SHELL -l).
    const result = await i.builder.exec(["bash", "-l", "-c", 'exec "$@"', "bash", ...script], {
      input: stdin,
      timeoutMs: 120_000,
    });
    return { stdout: result.stdout, stderr: result.stderr, code: result.exitCode ?? 1 };
  }

  private autostart(args: string[]): Reply {
    if (!this.atLeast(2, 2)) return this.fatal('unknown command "autostart" for "limactl"');
    const { values, positional } = this.flags(args);
    const [verb, name] = positional;
    const i = name ? this.instances.get(name) : undefined;
    if (!i) return this.fatal(`instance ${this.q(name ?? "")} does not exist`);
    if (verb === "enable") {
      const condition = values.get("--condition")?.[0] ?? "login";
      if (condition !== "login" && condition !== "boot")
        return this.fatal(`invalid condition ${JSON.stringify(condition)}`);
      i.autostart = condition;
    } else if (verb === "disable") i.autostart = null;
    else return this.fatal(`unknown command ${JSON.stringify(verb)} for "limactl autostart"`);
    return { stdout: "", stderr: "", code: 0 };
  }

  private startAtLogin(args: string[]): Reply {
    const { values, positional } = this.flags(args);
    const i = positional[0] ? this.instances.get(positional[0]) : undefined;
    if (!i) return this.fatal(`instance ${this.q(positional[0] ?? "")} does not exist`);
    const before = this.atLeast(2, 2)
      ? this.log("warning", "start-at-login is deprecated; use `limactl autostart`")
      : "";
    i.autostart = values.get("--enabled")?.[0] === "false" ? null : "login";
    return { stdout: "", stderr: before, code: 0 };
  }
}

function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) return 600_000;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Lima's host agent: 127.0.0.1:<port> → the guest's sshd. */
async function forward(port: number, address: string, targetPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, address);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return server;
}
