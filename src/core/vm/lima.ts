// What crossnix reads from and says to Lima's limactl: versions, `list --json` lines, create/autostart argv.
import { badInput } from "../../errors.js";

export interface LimaVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** `limactl --version` prints `limactl version 2.1.0` (docs/lima.md#version). */
export function parseLimaVersion(stdout: string): LimaVersion | null {
  const m = /limactl version v?(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

export function limaAtLeast(v: LimaVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Oldest Lima crossnix drives: 1.0 brought the flags and JSON fields it relies on (docs/lima.md#versions). */
export const MIN_LIMA = { major: 1, minor: 0 } as const;

/** The parts of an instance's `config` (its lima.yaml with defaults filled in) crossnix reads. */
interface LimaConfig {
  vmOpts?: { vz?: { rosetta?: { enabled?: boolean } } };
  rosetta?: { enabled?: boolean };
  user?: { name?: unknown };
}

export type LimaStatus = "Running" | "Stopped" | "Broken" | "Installing" | "Uninitialized" | "";

export interface LimaInstance {
  name: string;
  status: LimaStatus;
  dir: string;
  cpus: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  sshLocalPort: number | null;
  rosetta: boolean;
  user: string | null;
  arch: string | null;
}

/**
 * `limactl list --json`: one JSON object per line, no enclosing array (docs/lima.md#list). Lines
 * that are not objects are skipped. Rosetta is under `config.vmOpts.vz.rosetta` (v2) or the
 * top-level `config.rosetta` (v1); both are checked.
 */
export function parseLimaList(stdout: string): LimaInstance[] {
  const out: LimaInstance[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof o["name"] !== "string") continue;
    const config = (o["config"] ?? {}) as LimaConfig;
    const num = (v: unknown) => (typeof v === "number" ? v : null);
    out.push({
      name: o["name"],
      status: (typeof o["status"] === "string" ? o["status"] : "") as LimaStatus,
      dir: typeof o["dir"] === "string" ? o["dir"] : "",
      cpus: num(o["cpus"]),
      memoryBytes: num(o["memory"]),
      diskBytes: num(o["disk"]),
      sshLocalPort: num(o["sshLocalPort"]),
      rosetta: Boolean(config.vmOpts?.vz?.rosetta?.enabled ?? config.rosetta?.enabled),
      user: typeof config.user?.name === "string" ? config.user.name : null,
      arch: typeof o["arch"] === "string" ? o["arch"] : null,
    });
  }
  return out;
}

/** Ports Lima or common setups already use (Lima's old default 60022, colima/rancher-style 31x22), never pinned. */
export const AVOIDED_PORTS: ReadonlySet<number> = new Set([31022, 31122, 31222, 60022]);
export const FIRST_PINNED_PORT = 31322;

/** The first port from 31322 up that is not avoided and not taken (by another instance or a listener). */
export function choosePort(taken: ReadonlySet<number>): number {
  for (let port = FIRST_PINNED_PORT; port < 65535; port += 1) {
    if (!AVOIDED_PORTS.has(port) && !taken.has(port)) return port;
  }
  throw new Error("no free port");
}

export interface CreateSpec {
  name: string;
  cpus: number;
  memoryGiB: number;
  diskGiB: number;
  rosetta: boolean;
  sshPort: number;
  template: string;
}

/**
 * `limactl create` for a builder VM: no prompt (--tty=false), vz, no home mounts, no containerd
 * download, the SSH port pinned (v2: --ssh-port; v1: --set, one string), docs/lima.md#create.
 */
export function createArgv(v: LimaVersion, spec: CreateSpec): string[] {
  const port = v.major >= 2 ? ["--ssh-port", String(spec.sshPort)] : ["--set", `.ssh.localPort = ${spec.sshPort}`];
  return [
    "limactl",
    "--tty=false",
    "create",
    `--name=${spec.name}`,
    "--vm-type=vz",
    `--cpus=${spec.cpus}`,
    `--memory=${spec.memoryGiB}`,
    `--disk=${spec.diskGiB}`,
    "--mount-none",
    "--containerd=none",
    ...(spec.rosetta ? ["--rosetta"] : []),
    ...port,
    // A template is a URL or a file: `--` keeps one starting with '-' from being read as a flag.
    "--",
    spec.template,
  ];
}

export type Autostart = "login" | "boot" | "off";

/**
 * The version's own autostart (docs/lima.md#autostart): `autostart enable|disable` since 2.2,
 * `start-at-login` before (login only). null: this version cannot (boot before 2.2).
 */
export function autostartArgv(v: LimaVersion, name: string, mode: Autostart): string[] | null {
  if (limaAtLeast(v, 2, 2)) {
    return mode === "off"
      ? ["limactl", "--tty=false", "autostart", "disable", name]
      : ["limactl", "--tty=false", "autostart", "enable", `--condition=${mode}`, name];
  }
  if (mode === "boot") return null;
  return ["limactl", "--tty=false", "start-at-login", name, `--enabled=${mode === "login"}`];
}

/** The fatal/warning message of Lima's logrus lines (`time=… level=fatal msg="…"`), else the last line. */
export function limaMessage(stderr: string): string {
  const lines = stderr.trim().split("\n").filter(Boolean);
  const fatal = lines.findLast((l) => /level=fatal/.test(l)) ?? lines.at(-1) ?? "";
  const m = /msg=("(?:[^"\\]|\\.)*")/.exec(fatal);
  if (m) {
    try {
      return JSON.parse(m[1]!) as string;
    } catch {
      return m[1]!;
    }
  }
  return fatal.replace(/^FATA\[\d+\]\s*/, "");
}

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

export interface VmRequest {
  name: string;
  cpus: number;
  memoryGiB: number;
  diskGiB: number;
  rosetta: boolean;
  systems: string[];
  template: string;
  autostart: Autostart;
}

export interface VmFlags {
  cpus?: string;
  memory?: string;
  disk?: string;
  rosetta?: boolean;
  systems?: string;
  template?: string;
  autostart?: string;
}

function intIn(field: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw badInput(field, text, `must be a whole number from ${min} to ${max}`);
  return n;
}

/** A VM name: Lima instance and ssh alias `lima-<name>` alike, so lower-case letters, digits and '-'. */
export function checkVmName(name: string): string {
  if (!NAME.test(name)) {
    throw badInput(
      "VM name",
      name,
      "use 1–31 lower-case letters, digits or '-', starting with a letter",
      "e.g. crossnix vm create nixbuilder",
    );
  }
  return name;
}

/** `vm create`'s flags validated (exit 2, nothing created). Rosetta defaults on; x86_64-linux needs it. */
export function parseVmRequest(nameArg: string | undefined, flags: VmFlags): VmRequest {
  const name = checkVmName(nameArg ?? "nixbuilder");
  const rosetta = flags.rosetta ?? true;
  const systems = flags.systems
    ? [
        ...new Set(
          flags.systems
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ]
    : rosetta
      ? ["aarch64-linux", "x86_64-linux"]
      : ["aarch64-linux"];
  for (const s of systems) {
    if (s !== "aarch64-linux" && s !== "x86_64-linux") {
      throw badInput("--systems", s, "a Lima VM on a Mac builds aarch64-linux, and x86_64-linux with Rosetta");
    }
  }
  if (systems.includes("x86_64-linux") && !rosetta) {
    throw badInput("--systems", "x86_64-linux", "needs Rosetta", "drop --no-rosetta, or build only aarch64-linux");
  }
  const autostart = flags.autostart ?? "off";
  if (autostart !== "login" && autostart !== "boot" && autostart !== "off") {
    throw badInput("--autostart", autostart, "must be login, boot or off");
  }
  const template = flags.template ?? "template://default";
  if (template.startsWith("-") || /\s/.test(template))
    throw badInput("--template", template, "not a template name, URL or file");
  return {
    name,
    cpus: intIn("--cpus", flags.cpus, 4, 1, 64),
    memoryGiB: intIn("--memory", flags.memory, 8, 2, 512),
    diskGiB: intIn("--disk", flags.disk, 100, 20, 4096),
    rosetta,
    systems,
    template,
    autostart,
  };
}
