/**
 * Why a Nix remote (distributed) build failed, from what `nix build` / `nix-build` printed on
 * stderr. The input may be the whole output: many lines, ANSI colours, `error:` prefixes, the
 * 7-space indentation of continuation lines, `… while …` trace lines, build logs, and several
 * builders failing one after the other.
 *
 * Message texts are Nix's own (NixOS/nix and DeterminateSystems/nix-src); each pattern notes the
 * versions that print that wording. ssh's part of a message is decided by classifySshFailure.
 *
 * Where ssh's stderr goes (it matters for finding it):
 * - ssh:// in the build hook: Nix forces `log-fd=4`, so ssh's stderr is appended to the same
 *   line, `cannot build on '<uri>': <error>: <ssh stderr>`, continued on the following lines.
 * - ssh-ng:// and stores opened outside the hook: ssh inherits stderr, so its lines come
 *   *before* Nix's error. With a Nix daemon they go to the daemon's own log instead and the user
 *   sees only Nix's line (NixOS/nix#8632, nix-darwin#913).
 */
import { classifySshFailure, type SshFailure, type SshFailureCause } from "./ssh.js";

export type NixFailureCause =
  /** ssh's own reasons, from classifySshFailure (host-key-unknown, auth, refused, ssh-missing, …). */
  | Exclude<SshFailureCause, "unknown">
  /** ssh failed, and Nix's output does not say why (ssh's stderr went to the daemon's log). */
  | "ssh-connect-failed"
  /** The connection closed before Nix's protocol started; ssh's stderr is not in the output. */
  | "remote-connection-closed"
  | "remote-program-not-found"
  | "protocol-mismatch-shell-noise"
  | "remote-untrusted"
  | "signature-missing"
  | "no-suitable-machine"
  | "local-builds-disabled"
  | "client-builders-ignored"
  | "remote-daemon-down"
  /** The builder's store cannot be opened or written: its disk is full (or failing). */
  | "remote-disk-full"
  /** A daemon socket refused the connection, and nothing says it was the builder's. */
  | "daemon-down"
  | "machines-file-invalid"
  | "extra-builders-unknown"
  /** The build itself failed (on the builder or here): not a configuration problem. */
  | "build-failed"
  /** A builder was named as failing, for a reason not recognised. */
  | "unknown";

export interface NixDiagnosis {
  cause: NixFailureCause;
  /** One sentence a person understands. */
  summary: string;
  /** What to do, concretely. */
  fix: string;
  /** The line(s) that decided it, ANSI stripped. */
  evidence: string;
  /** The machine URI (or host) the message names. */
  builder?: string;
  /** no-suitable-machine: the system and features the derivation needs. */
  system?: string;
  features?: string[];
  drv?: string;
  /** Which Nix versions print the deciding wording, e.g. "2.30–2.33". */
  nixVersions?: string;
  /** build-failed: the last lines of the build log Nix showed. */
  logTail?: string[];
}

const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

// ---------------------------------------------------------------------------------------------
// Lines

interface Line {
  text: string;
  /** text without a leading `error:` / `warning:` / `note:` or trace `…`. */
  body: string;
  /** A build-log line (`> …` in a log tail, `name> …` with -L). */
  log: boolean;
  /** For log lines the logged text (its body); otherwise body. */
  content: string;
}

const LOG_LINE = /^[\w.+@-]*> ?(.*)$/;

function bodyOf(text: string): string {
  return text.replace(/^(?:error|warning|note):\s*/, "").replace(/^…\s*/, "");
}

function toLines(stderr: string): Line[] {
  return stripAnsi(stderr)
    .split(/\r\n|\n|\r/)
    .map((raw) => {
      const text = raw.trim();
      const log = LOG_LINE.exec(text);
      const body = bodyOf(text);
      return { text, body, log: log !== null, content: log ? bodyOf(log[1]!.trim()) : body };
    });
}

/** Lines Nix itself prints (not ssh's or a remote shell's stderr). Case matters: ssh says "Warning:". */
const NIX_LINE: RegExp[] = [
  /^(?:error|warning|note|trace|hint)(?::|$)/,
  /^…/,
  /^(?:cannot build on '|unable to open SSH connection|build of '|building '|checking outputs of|repairing outputs of|copying |these |this derivation|this path|will be |Failed to find a machine|derivation: |required \(system|\d+ available machines|\(systems, maxjobs|Cannot build '|Reason: |Required (?:system|features)|Current system|Available features|Hint: |Note: |Output paths:|[Ll]ast \d+ log lines|For full logs|nix log |nix-store -l |[Uu]nable to start any build|either increase|remote machines may not|@nix |\[\d|\/nix\/store\/|unpacking |evaluating |fetching |querying |downloading |waiting for |connecting to |don't know how to build)/,
  /^\(.*\)$/,
];

/** Remote-side lines that may carry an `error:` prefix (printed by the builder's Nix or shell). */
const SSH_SIDE: RegExp[] = [/unable to execute 'ssh'/, /cannot connect to (?:socket|daemon) at '/];

// ---------------------------------------------------------------------------------------------
// Patterns, with the versions that print them

/** `cannot build on '<uri>': <error>[: <ssh stderr>]` (2.1+; 2.1 added ssh's stderr, commit 1aca195e52). */
const CANNOT_BUILD_ON = /^cannot build on '([^']+)':\s*(.*)$/;
/** Nix 2.0's form of the same. */
const UNABLE_OPEN_SSH =
  /^unable to open SSH connection to '([^']+)':\s*(.*?)(?:;\s*trying other available machines\.*)?$/;
/** The hook, after the builder returned a failure (2.0+). */
const BUILD_OF_ON = /^build of '([^']+)' on '([^']+)' failed:\s*(.*)$/;
const OPEN_REMOTE_STORE = /cannot open connection to remote store '([^']+)'/;
/** ssh exited before LocalCommand printed "started" (2.15+, ssh.cc). */
const FAILED_START_SSH = /failed to start SSH connection to '([^']+)'/;
/** LegacySSHStore: EOF during the `nix-store --serve` handshake (all versions). */
const CANNOT_CONNECT_HOST = /cannot connect to '([^']+)'/;
/** RemoteStore EOF: ≤2.19 "unexpected end-of-file"; 2.20+ (commit a3cf27ca47) the daemon wording. */
const EOF_LINE = /^(?:unexpected end-of-file|Nix daemon disconnected unexpectedly \(maybe it crashed\?\))$/;
const EOF_ANY = /unexpected end-of-file|Nix daemon disconnected unexpectedly/;

const SSH_MISSING = /unable to execute 'ssh'(?::\s*(.*))?/;
/** 2.4+ "cannot connect to socket at"; ≤2.3 "cannot connect to daemon at". */
const SOCKET_DOWN = /cannot connect to (socket|daemon) at '([^']+)':\s*(Connection refused|No such file or directory)/;
/** bash, bash -c ("line 1:"), dash/ash ("1: … not found"), zsh, fish, tcsh; or a wrong absolute remote-program. */
const CMD_NOT_FOUND =
  /(?:^|[\s:/])(nix-store|nix-daemon)(?::\s*(?:command not found|not found|Command not found\.?|No such file or directory))|command not found: (?:\S*\/)?(nix-store|nix-daemon)\b|Unknown command:?\s*'?(?:\S*\/)?(nix-store|nix-daemon)/;
/** ssh-ng 2.4+ (PR #5290). `got` may continue on the next lines. */
const PROTO_NG = /protocol mismatch, got '(.*)$/;
/** ssh:// 2.4+: "'nix-store --serve' protocol mismatch from 'host', got '…'" (without "got" when nothing was read). */
const PROTO_SERVE = /'nix-store --serve' protocol mismatch from '([^']+)'(?:, got '(.*))?$/;
/** ssh:// ≤2.3. */
const PROTO_SERVE_OLD = /protocol mismatch with 'nix-store --serve' on '([^']+)'/;
/** ≤2.3: shell noise read as the protocol's first integer. */
const SERIALISED_INT = /serialised integer (\d+) is too large for type/;
/** The builder's store: SQLite "disk I/O error" (captured with a full /nix, Nix 2.8), ENOSPC. */
const DISK_FULL = /No space left on device|disk I\/O error|database or disk is full/;
/** daemon.cc buildDerivation: 2.4+ "input-addressed derivations"; ≤2.3 "derivations". */
const NOT_PRIVILEGED = /you are not privileged to build (input-addressed )?derivations/;
/** local-store.cc: 2.12+ "a signature by a trusted key"; ≤2.11 "a valid signature". */
const LACKS_SIG =
  /cannot (?:add path|register realisation) '([^']+)' because it lacks a (signature by a trusted key|valid signature)/;
/** daemon.cc: 2.22+ warning; 2.4–2.21 debug level (invisible); ≤2.3 "user-specified". */
const CLIENT_IGNORED =
  /ignoring the (client|user)-specified setting 'builders', because it is a restricted setting and you are not a trusted user/;
const EXTRA_BUILDERS = /unknown setting 'extra-builders'/;
/** machines.cc 2.5+ (PR #5374); base64 column 2.5–2.24; 'float' 2.20+. */
const BAD_MACHINE = /^bad machine specification: (.*)$/;
/** machines.cc ≤2.4. */
const BAD_MACHINE_OLD = /^bad machine specification '(.*)'$/;
/** 2.25+: a bad host key is a base64 error with this trace. */
const MACHINE_TRACE = /while parsing machine specification at a column #(\d+) in a row: '(.*)'$/;
const SPEED_FACTOR = /^speed factor must be >= 0$/;
/** ≤2.4: std::stoull's exception text (libstdc++ "stoull", libc++ "stoull: no conversion"). */
const STOULL = /^sto(?:ull|ul|f)(?:: (?:no conversion|out of range))?$/;

/** ≤2.29 (Determinate < 3.6.1), derivation-builder / local-derivation-goal. */
const I_AM_A =
  /a '([^']+)' with features \{([^}]*)\} is required to build '([^']+)', but I am a '([^']+)' with features \{([^}]*)\}/;
/** 2.29+ build failures, 2.30–2.33 and 2.34+ rejections. */
const CANNOT_BUILD = /^Cannot build '([^']+)'\.?$/;
const CANNOT_BUILD_PART =
  /^(?:Reason: |Required (?:system|features): |Current system: |Available features: |Hint: |Note: |Output paths:|\/nix\/store\/|[Ll]ast \d+ log lines:|>|For full logs|nix log |nix-store -l )/;
/** ≤2.28: "builder for '…' failed with exit code 1" [2.3 "; last N log lines:", 2.4+ ";" + next line]. */
const BUILDER_FOR =
  /^builder for '([^']+)' (failed with exit code (\d+)|failed due to signal [^;]*|died abnormally)(?:;\s*(?:last (\d+) log lines:)?)?$/;
const UNABLE_START = /^([Uu])nable to start any build;?\s*(.*)$/;
const FAILED_TO_FIND = /^Failed to find a machine for remote build!?$/;

/** A remote store URI in a line: "building '…' on 'ssh-ng://b'", "copying … to 'ssh://b'", "cannot build on '…'". */
const BUILDER_CONTEXT = /(?:\bon|\bto|\bfrom) '((?:ssh|ssh-ng):\/\/[^']+)'/;
const BUILDING_ON = /^(?:building|checking outputs of|repairing outputs of) '([^']+)' on '([^']+)'/;

const NIX_PROFILE_BIN = "/nix/var/nix/profiles/default/bin";

// ---------------------------------------------------------------------------------------------
// Findings under construction

interface Hit extends NixDiagnosis {
  /** Line where it was found: the order of appearance. */
  at: number;
  /** How much the summary/fix says; the richer one wins when two findings merge. */
  detail: number;
  exitCode?: number;
  /** Evidence lines only (for the build-failed check). */
  lines: string[];
}

/** The order of the result: most specific first, then order of appearance. */
const TIER: Record<NixFailureCause, number> = {
  "host-key-changed": 0,
  "host-key-unknown": 0,
  "key-permissions": 0,
  auth: 0,
  dns: 0,
  refused: 0,
  timeout: 0,
  unreachable: 0,
  "ssh-missing": 0,
  "remote-program-not-found": 0,
  "protocol-mismatch-shell-noise": 0,
  "remote-untrusted": 0,
  "signature-missing": 0,
  "remote-daemon-down": 0,
  "remote-disk-full": 0,
  "machines-file-invalid": 0,
  "client-builders-ignored": 0,
  "extra-builders-unknown": 0,
  "ssh-connect-failed": 1,
  "remote-connection-closed": 1,
  "daemon-down": 1,
  unknown: 1,
  "no-suitable-machine": 2,
  "local-builds-disabled": 3,
  "build-failed": 4,
};

/** Connection causes that only say "it failed": a specific finding for the same builder absorbs them. */
const GENERIC_CONNECTION: ReadonlySet<NixFailureCause> = new Set([
  "ssh-connect-failed",
  "remote-connection-closed",
  "unknown",
]);
/** Failures after the hook accepted the build; the hook then exits 1 and Nix reports that as a builder failure. */
const AFTER_ACCEPT: ReadonlySet<NixFailureCause> = new Set([
  "remote-untrusted",
  "signature-missing",
  "remote-daemon-down",
]);
/** One finding per cause, whatever the builder. */
const GLOBAL: ReadonlySet<NixFailureCause> = new Set([
  "client-builders-ignored",
  "extra-builders-unknown",
  "local-builds-disabled",
]);

/** `ssh-ng://nix@host:22?x=y` → `host`, for comparing builders named as URI or host. */
function hostOf(s: string): string {
  return s
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/[?/].*$/, "")
    .replace(/^.*@/, "")
    .replace(/:\d+$/, "");
}

/** The ssh destination in a URI (`user@host[:port]`), for commands a person runs. */
function destOf(s: string): string {
  return s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/[?/].*$/, "");
}

function schemeOf(uri: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1] ?? "ssh";
}

function drvBase(drv: string | undefined): string {
  return drv ? (drv.split("/").at(-1) ?? drv) : "";
}

function list(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

function uniqueLines(lines: string[]): string[] {
  return [...new Set(lines.map((l) => l.trim()).filter(Boolean))];
}

const MAX_EVIDENCE = 8;

function joinEvidence(lines: string[]): string {
  const u = uniqueLines(lines);
  if (u.length <= MAX_EVIDENCE) return u.join("\n");
  return [...u.slice(0, MAX_EVIDENCE), `… and ${u.length - MAX_EVIDENCE} more like these`].join("\n");
}

function programFor(scheme: string | undefined): "nix-store" | "nix-daemon" | undefined {
  if (scheme === "ssh-ng") return "nix-daemon";
  if (scheme === "ssh") return "nix-store";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Explanations shared by the anchored and the standalone detectors

interface Where {
  /** URI or host, as the message names it. */
  builder?: string;
  scheme?: string;
}

type Explained = Pick<NixDiagnosis, "cause" | "summary" | "fix" | "nixVersions"> & { detail?: number };

function builderWord(w: Where): string {
  return w.builder ? `builder '${w.builder}'` : "the builder";
}

function destWord(w: Where): string {
  return w.builder ? destOf(w.builder) : "<builder>";
}

function remoteProgram(w: Where, program: string | undefined, line: string): Explained {
  const prog = program ?? programFor(w.scheme) ?? "nix-daemon";
  const scheme = w.scheme ?? (prog === "nix-store" ? "ssh" : "ssh-ng");
  const absolute = new RegExp(`/${prog}: No such file or directory`).test(line);
  if (absolute) {
    return {
      cause: "remote-program-not-found",
      summary: `the remote-program path given for ${builderWord(w)} does not exist there, so ${prog} could not start`,
      fix: `correct ?remote-program= in the machines entry: ${prog} is usually ${NIX_PROFILE_BIN}/${prog} ('command -v ${prog}' in a login shell on the builder shows it)`,
    };
  }
  return {
    cause: "remote-program-not-found",
    summary: `${builderWord(w)} cannot find ${prog}: a non-interactive SSH session there does not load the Nix profile, so ${prog} is not on its PATH`,
    fix:
      `point the machines entry at the binary: ${scheme}://${destWord(w)}?remote-program=${NIX_PROFILE_BIN}/${prog} ` +
      `('crossnix builder add … --remote-program ${NIX_PROFILE_BIN}/${prog}'), or make non-interactive shells on the builder load Nix ` +
      "(source the Nix profile script from /etc/zshenv on macOS, or sshd 'SetEnv PATH=…')",
  };
}

function protocolNoise(w: Where, got: string | undefined, versions: string): Explained {
  const shown = got?.replace(/'$/, "").trim();
  const nologin = shown !== undefined && /currently not available|nologin|This account/i.test(shown);
  if (nologin) {
    return {
      cause: "protocol-mismatch-shell-noise",
      summary: `the SSH user's login shell on ${builderWord(w)} refuses sessions ('${shown}'): it is nologin or false, so Nix never starts`,
      fix: "give the SSH user a real login shell on the builder (e.g. chsh -s /bin/sh <user>), then 'crossnix builder probe'",
      nixVersions: versions,
    };
  }
  return {
    cause: "protocol-mismatch-shell-noise",
    summary:
      `the login shell on ${builderWord(w)} writes text to stdout before Nix's protocol starts` +
      (shown ? ` (Nix read '${shown}')` : "") +
      ", which corrupts the connection",
    fix: `make the SSH user's shell start-up files (.bashrc, .zshrc, /etc/profile…) print nothing for non-interactive sessions: 'ssh ${destWord(w)} true' must print nothing; 'crossnix builder probe' checks it`,
    nixVersions: versions,
  };
}

function untrusted(w: Where, versions: string): Explained {
  return {
    cause: "remote-untrusted",
    summary: `the Nix daemon on ${builderWord(w)} does not trust the SSH user, so it refuses to build the derivations it is sent`,
    fix:
      `run 'crossnix builder setup-remote ${destWord(w)}', or on the builder add the SSH user to trusted-users in nix.conf ` +
      "(nix.custom.conf with Determinate Nix) and restart its nix-daemon",
    nixVersions: versions,
  };
}

function signature(w: Where, versions: string): Explained {
  const where = w.builder
    ? `the store on ${builderWord(w)}`
    : "the receiving store (the builder, during a remote build)";
  return {
    cause: "signature-missing",
    summary: `${where} refused paths that are not signed by a key it trusts: it has require-sigs on and does not trust the user Nix connects as`,
    fix:
      `make that user trusted on the builder ('crossnix builder setup-remote ${destWord(w)}'), or sign what is copied (secret-key-files here, ` +
      "its public key in the builder's trusted-public-keys), or set builders-use-substitutes = true so the builder fetches inputs itself",
    nixVersions: versions,
  };
}

function remoteDaemonDown(w: Where, versions: string): Explained {
  return {
    cause: "remote-daemon-down",
    summary: `the Nix daemon on ${builderWord(w)} is not running: SSH worked, but its daemon socket refused the connection (Nix then aborts instead of trying another builder, NixOS/nix#10136)`,
    fix: "start the builder's nix-daemon (systemctl start nix-daemon.socket nix-daemon on Linux; launchctl kickstart -k system/org.nixos.nix-daemon, or systems.determinate.nix-daemon, on macOS), or 'crossnix builder disable <name>' meanwhile",
    nixVersions: versions,
  };
}

function daemonDown(versions: string): Explained {
  return {
    cause: "daemon-down",
    summary:
      "a Nix daemon refused the connection: this machine's, unless the message came from a builder (the text is the same)",
    fix: "check the local daemon first (systemctl restart nix-daemon on Linux; sudo launchctl kickstart -k system/org.nixos.nix-daemon, or systems.determinate.nix-daemon, on macOS); if it runs, a builder's daemon is down: 'crossnix builder probe'",
    nixVersions: versions,
  };
}

function diskFull(w: Where): Explained {
  return {
    cause: "remote-disk-full",
    summary: `the Nix store on ${builderWord(w)} cannot be opened or written: its disk is full (or failing)`,
    fix: `free space on the builder (e.g. 'ssh ${destWord(w)} nix-collect-garbage -d', or grow its disk), then 'crossnix builder probe'`,
    nixVersions: "all",
  };
}

/** ssh's own verdict, with Nix's version note; a port in the host name gets its real explanation. */
function sshExplained(ssh: SshFailure, versions: string | undefined): Explained {
  const port = /Could not resolve hostname (\S+?):(\d+):/.exec(ssh.evidence);
  if (ssh.cause === "dns" && port) {
    return {
      cause: "dns",
      summary: `Nix passed the port as part of the host name ('${port[1]}:${port[2]}'), which ssh cannot resolve: store URIs take a port only from Nix 2.31`,
      fix: `use an ssh alias with 'Port ${port[2]}' and name the alias in the machines entry ('crossnix builder add' writes one), or upgrade Nix to 2.31+`,
      nixVersions: "<2.31",
    };
  }
  return { cause: ssh.cause, summary: ssh.summary, fix: ssh.fix, ...(versions ? { nixVersions: versions } : {}) };
}

function sshMissing(w: Where, line: string): Explained {
  const s = classifySshFailure("", { host: w.builder ? hostOf(w.builder) : "", spawnError: line });
  return {
    cause: "ssh-missing",
    summary: `${s.summary}: the Nix daemon (or the build hook) found no 'ssh' on its PATH`,
    fix: `${s.fix}; restart the daemon after installing ('crossnix doctor --fix')`,
    nixVersions: "all",
  };
}

// ---------------------------------------------------------------------------------------------
// The scan

class Scan {
  readonly lines: Line[];
  readonly claimed = new Set<number>();
  readonly hits: Hit[] = [];
  /** drv basename → builder, from "building '…' on '…'" and "build of '…' on '…'". */
  readonly drvBuilder = new Map<string, string>();
  readonly builders: string[] = [];

  constructor(stderr: string) {
    this.lines = toLines(stderr);
    for (const l of this.lines) {
      const on = BUILDING_ON.exec(l.body) ?? BUILD_OF_ON.exec(l.body);
      if (on) this.drvBuilder.set(drvBase(on[1]), on[2]!);
      const b = BUILDER_CONTEXT.exec(l.body)?.[1];
      if (b && !this.builders.includes(b)) this.builders.push(b);
    }
  }

  add(at: number, e: Explained, evidence: string[], extra: Partial<Hit> = {}): Hit {
    const hit: Hit = {
      cause: e.cause,
      summary: e.summary,
      fix: e.fix,
      evidence: "",
      at,
      detail: e.detail ?? 1,
      lines: uniqueLines(evidence),
      ...(e.nixVersions ? { nixVersions: e.nixVersions } : {}),
      ...extra,
    };
    this.hits.push(hit);
    return hit;
  }

  isForeign(i: number): boolean {
    const l = this.lines[i]!;
    if (l.text === "") return false;
    if (SSH_SIDE.some((r) => r.test(l.body))) return true;
    if (l.log) return false;
    return !NIX_LINE.some((r) => r.test(l.text));
  }

  /** Claim the run of foreign lines next to line i (blank lines are skipped, not claimed). */
  claimRun(i: number, direction: -1 | 1): number[] {
    const run: number[] = [];
    for (let j = i + direction; j >= 0 && j < this.lines.length; j += direction) {
      if (this.claimed.has(j)) break;
      if (this.lines[j]!.text === "") continue;
      if (!this.isForeign(j)) break;
      run.push(j);
    }
    for (const j of run) this.claimed.add(j);
    return direction === -1 ? run.reverse() : run;
  }

  /** The builder a line is about: nearest preceding builder context, else the only one named. */
  inferBuilder(at: number): string | undefined {
    for (let j = at; j >= 0; j--) {
      const b = BUILDER_CONTEXT.exec(this.lines[j]!.body)?.[1];
      if (b) return b;
    }
    return this.builders.length === 1 ? this.builders[0] : undefined;
  }

  run(): NixDiagnosis[] {
    this.anchors();
    this.blocks();
    this.singles();
    this.loose();
    return finish(this.hits);
  }

  /**
   * ssh's or the remote's lines away from Nix's own line, e.g. the daemon's log pasted after the
   * client's output (ssh-ng sends them there). Used only to explain a builder that failed without
   * a stated reason: elsewhere such lines may just be a build's output (nix-build prints logs raw).
   */
  loose(): void {
    const generic = this.hits.filter(
      (h) => (h.cause === "ssh-connect-failed" || h.cause === "remote-connection-closed") && h.builder,
    );
    if (generic.length === 0) return;
    const hosts = new Set(generic.map((h) => hostOf(h.builder!)));
    const builder = hosts.size === 1 ? generic[0]!.builder : undefined;
    const w: Where = { ...(builder ? { builder, scheme: schemeOf(builder) } : {}) };
    const extra = builder ? { builder } : {};
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const texts = run.map((j) => this.lines[j]!.text);
      const at = run[0]!;
      run = [];
      const disk = texts.find((t) => DISK_FULL.test(t));
      if (disk) {
        this.add(at, diskFull(w), [disk], extra);
        return;
      }
      const ssh = classifySshFailure(texts.join("\n"), { host: builder ? hostOf(builder) : "" });
      if (ssh.cause !== "unknown") this.add(at, sshExplained(ssh, undefined), [ssh.evidence], extra);
    };
    for (let j = 0; j < this.lines.length; j++) {
      if (this.lines[j]!.text === "") continue;
      if (!this.claimed.has(j) && (this.isForeign(j) || DISK_FULL.test(this.lines[j]!.body))) run.push(j);
      else flush();
    }
    flush();
  }

  // --- connection failures named by Nix ------------------------------------------------------

  anchors(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (this.claimed.has(i) || l.log) continue;
      const b = l.body;
      let m = CANNOT_BUILD_ON.exec(b) ?? UNABLE_OPEN_SSH.exec(b);
      if (m) {
        const uri = m[1]!;
        const scheme = schemeOf(uri);
        this.claimed.add(i);
        // ssh:// appends ssh's stderr (log-fd=4); ssh-ng's came before (single-user Nix only).
        const around = this.claimRun(i, scheme === "ssh" ? 1 : -1);
        const v = UNABLE_OPEN_SSH.test(b) && !CANNOT_BUILD_ON.test(b) ? "2.0" : undefined;
        this.connection(i, { builder: uri, scheme }, [m[2]!, ...around.map((j) => this.lines[j]!.text)], l.text, v);
        continue;
      }
      m = BUILD_OF_ON.exec(b);
      if (m) {
        this.claimed.add(i);
        this.buildOf(i, m[1]!, m[2]!, m[3]!);
        continue;
      }
      // 'daemon' / 'unix://…' is the local daemon: not a builder.
      const store = OPEN_REMOTE_STORE.exec(b);
      m =
        (store && /^ssh(?:-ng)?:\/\//.test(store[1]!) ? store : null) ??
        FAILED_START_SSH.exec(b) ??
        CANNOT_CONNECT_HOST.exec(b);
      const eof = EOF_LINE.test(b);
      if (m || eof) {
        const builder = m?.[1] ?? this.inferBuilder(i);
        // A bare EOF with no builder in sight is the local daemon's business: not ours.
        if (!builder) continue;
        this.claimed.add(i);
        const around = this.claimRun(i, -1);
        const w: Where = { builder, ...(builder.includes("://") ? { scheme: schemeOf(builder) } : {}) };
        this.connection(i, w, [b, ...around.map((j) => this.lines[j]!.text)], l.text);
      }
    }
  }

  /** Decide a connection failure from Nix's error and the ssh/remote lines that came with it. */
  connection(at: number, w: Where, texts: string[], anchor: string, version?: string): void {
    const all = texts.join("\n");
    const lines = all.split("\n").map((t) => t.trim());
    const find = (r: RegExp) => lines.find((t) => r.test(t));
    const ev = (line: string | undefined) => [anchor, ...(line && !anchor.includes(line) ? [line] : [])];
    const wording = version ?? connectionWording(all);
    const extra = { builder: w.builder! };

    let line = find(SSH_MISSING);
    if (line) {
      this.add(at, sshMissing(w, line.replace(/^.*?(unable to execute)/, "$1")), ev(line), extra);
      return;
    }
    line = find(SOCKET_DOWN);
    if (line) {
      this.add(at, remoteDaemonDown(w, SOCKET_DOWN.exec(line)![1] === "socket" ? "2.4+" : "≤2.3"), ev(line), extra);
      return;
    }
    line = find(CMD_NOT_FOUND);
    if (line) {
      const mm = CMD_NOT_FOUND.exec(line)!;
      this.add(
        at,
        { ...remoteProgram(w, mm[1] ?? mm[2] ?? mm[3], line), ...(wording ? { nixVersions: wording } : {}) },
        ev(line),
        extra,
      );
      return;
    }
    const proto = this.protocol(all);
    if (proto) {
      this.add(at, protocolNoise(w, proto.got, proto.versions), ev(proto.line), extra);
      return;
    }
    line = find(NOT_PRIVILEGED);
    if (line) {
      this.add(at, untrusted(w, NOT_PRIVILEGED.exec(line)![1] ? "2.4+" : "≤2.3"), ev(line), extra);
      return;
    }
    line = find(LACKS_SIG);
    if (line) {
      this.add(at, signature(w, /trusted key/.test(line) ? "2.12+" : "≤2.11"), ev(line), extra);
      return;
    }
    line = find(DISK_FULL);
    if (line) {
      this.add(at, diskFull(w), ev(line), extra);
      return;
    }
    const host = w.builder ? hostOf(w.builder) : "";
    const ssh = classifySshFailure(all, { host });
    if (ssh.cause !== "unknown") {
      // ssh's reason under Nix's EOF wording: what an ssh failure looked like before 2.15.
      const sshWording =
        version ?? (FAILED_START_SSH.test(all) ? "2.15+" : "≤2.14 (2.15+ says 'failed to start SSH connection')");
      this.add(at, sshExplained(ssh, sshWording), ev(ssh.evidence), extra);
      return;
    }
    const rest = texts.slice(1).filter((t) => t.trim());
    if (FAILED_START_SSH.test(all)) {
      this.add(
        at,
        {
          cause: "ssh-connect-failed",
          summary: `ssh to ${builderWord(w)} failed before Nix could start, and ssh's own error is not in this output`,
          fix:
            `ssh's message is in the Nix daemon's log (the daemon runs ssh, as root); reproduce it with 'sudo ssh ${destWord(w)}' ` +
            "(root's keys, known_hosts and ssh_config apply, not yours), or run 'crossnix builder probe'",
          nixVersions: "2.15+",
        },
        [anchor, ...rest],
        extra,
      );
      return;
    }
    if (EOF_ANY.test(all) || CANNOT_CONNECT_HOST.test(all) || OPEN_REMOTE_STORE.test(all) || /Broken pipe/.test(all)) {
      this.add(at, connectionClosed(w, all, wording), [anchor, ...rest], extra);
      return;
    }
    this.add(
      at,
      {
        cause: "unknown",
        summary: `Nix could not use ${builderWord(w)}, for a reason crossnix does not recognise`,
        fix: "run 'crossnix builder probe' to connect to it as the Nix daemon does",
        ...(wording ? { nixVersions: wording } : {}),
      },
      [anchor, ...rest],
      extra,
    );
  }

  protocol(all: string): { line: string; got?: string; versions: string } | undefined {
    const lines = all.split("\n").map((t) => t.trim());
    for (const t of lines) {
      let m = PROTO_SERVE.exec(t);
      if (m) return { line: t, ...(m[2] !== undefined ? { got: m[2] } : {}), versions: "2.4+" };
      m = PROTO_NG.exec(t);
      if (m) return { line: t, got: m[1]!, versions: "2.4+" };
      if (PROTO_SERVE_OLD.test(t)) return { line: t, versions: "≤2.3" };
      if (SERIALISED_INT.test(t)) return { line: t, versions: "≤2.3 (2.4+ says 'protocol mismatch, got …')" };
    }
    return undefined;
  }

  /** `build of '<drv>' on '<uri>' failed: <what the builder reported>`. */
  buildOf(at: number, drv: string, uri: string, inner: string): void {
    const w: Where = { builder: uri, scheme: schemeOf(uri) };
    const text = this.lines[at]!.text;
    const innerBody = bodyOf(inner);
    const bf = BUILDER_FOR.exec(innerBody);
    if (bf) {
      this.builderFailed(at, bf, text);
      return;
    }
    if (CANNOT_BUILD.test(innerBody)) {
      this.cannotBuild(at, innerBody, text);
      return;
    }
    if (NOT_PRIVILEGED.test(innerBody)) {
      this.add(at, untrusted(w, NOT_PRIVILEGED.exec(innerBody)![1] ? "2.4+" : "≤2.3"), [text], { builder: uri, drv });
      return;
    }
    if (LACKS_SIG.test(innerBody)) {
      this.add(at, signature(w, /trusted key/.test(innerBody) ? "2.12+" : "≤2.11"), [text], { builder: uri, drv });
      return;
    }
    if (SOCKET_DOWN.test(innerBody)) {
      this.add(at, remoteDaemonDown(w, "2.4+"), [text], { builder: uri, drv });
      return;
    }
    this.add(
      at,
      {
        cause: "unknown",
        summary: `building on ${builderWord(w)} failed: ${innerBody}`,
        fix: "read the message above; 'nix log' shows the build log if the build itself ran",
        nixVersions: "all",
      },
      [text],
      { builder: uri, drv },
    );
  }

  // --- multi-line messages -------------------------------------------------------------------

  blocks(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (this.claimed.has(i) || l.log) continue;
      const b = l.body;
      const bf = BUILDER_FOR.exec(b);
      const iam = I_AM_A.exec(b);
      const us = UNABLE_START.exec(b);
      if (FAILED_TO_FIND.test(b)) this.failedToFind(i);
      else if (CANNOT_BUILD.test(b)) this.cannotBuild(i, b, l.text);
      else if (bf) this.builderFailed(i, bf, l.text);
      else if (iam) {
        this.claimed.add(i);
        const features = list(iam[2]!);
        this.add(i, localReject(iam[1]!, features, iam[4]!, "≤2.29 (Determinate < 3.6.1)"), [l.text], {
          system: iam[1]!,
          features,
          drv: iam[3]!,
        });
      } else if (us) this.unableToStart(i, us);
    }
  }

  /** The hook's list, printed when no machine took a derivation that cannot be built here (2.4+). */
  failedToFind(i: number): void {
    const ev = [this.lines[i]!.text];
    this.claimed.add(i);
    let drv: string | undefined;
    let system: string | undefined;
    let features: string[] = [];
    let count: number | undefined;
    let bracketed = false;
    const rows: MachineRow[] = [];
    for (let j = i + 1; j < this.lines.length; j++) {
      const t = this.lines[j]!.text;
      if (t === "") break;
      const d = /^derivation: (\S+)$/.exec(t);
      const req = /^required \(system, features\): \((.*)\)$/.exec(t);
      const n = /^(\d+) available machines:$/.exec(t);
      const row = /^\((.*)\)$/.exec(t);
      if (d) drv = d[1]!;
      else if (req) {
        // 2.12+ "(sys, [a, b])"; 2.4–2.11 "(sys, a, b)"
        const nu = /^([^,]+),\s*\[(.*)\]$/.exec(req[1]!);
        bracketed = nu !== null;
        const parts = req[1]!.split(",").map((x) => x.trim());
        system = nu ? nu[1]!.trim() : parts[0];
        features = nu ? list(nu[2]!) : parts.slice(1).filter(Boolean);
      } else if (n) count = Number(n[1]);
      else if (/^\(systems, maxjobs/.test(t)) {
        // the header
      } else if (row) {
        const parsed = parseRow(row[1]!);
        if (!parsed) break;
        rows.push(parsed);
      } else break;
      ev.push(t);
      this.claimed.add(j);
    }
    const failedBefore =
      this.hits.some((h) => h.at < i && h.builder !== undefined && TIER[h.cause] <= 1) ||
      this.lines.slice(0, i).some((l) => SSH_MISSING.test(l.body) || CANNOT_BUILD_ON.test(l.body));
    const e = analyseMachines(system ?? "?", features, rows, count ?? rows.length, failedBefore);
    e.nixVersions = bracketed ? "2.12+" : "2.4–2.11";
    this.add(i, e, ev, {
      ...(system ? { system } : {}),
      features,
      ...(drv ? { drv } : {}),
    });
  }

  /** "Cannot build '<drv>'." and its Reason/Required/… lines (2.29+). */
  cannotBuild(i: number, first: string, firstText: string): void {
    const drv = CANNOT_BUILD.exec(first)![1]!;
    const part: string[] = [];
    const ev = [firstText];
    this.claimed.add(i);
    let j = i + 1;
    for (; j < this.lines.length; j++) {
      const t = this.lines[j]!.text;
      if (t === "" || !CANNOT_BUILD_PART.test(t)) break;
      part.push(t);
      this.claimed.add(j);
    }
    const reasons = part.filter((t) => t.startsWith("Reason: ")).map((t) => t.slice(8).trim());
    const get = (r: RegExp) => {
      for (const t of part) {
        const m = r.exec(t);
        if (m) return m;
      }
      return null;
    };
    const reasonLines = part.filter((t) => /^(?:Reason|Required|Current system|Available features)/.test(t));
    const builderReason = reasons
      .map((r) => /^builder (failed with exit code (\d+)|failed due to signal .*?|died abnormally)\.?$/.exec(r))
      .find(Boolean);
    if (builderReason) {
      const logTail = logTailOf(part);
      const builder = this.drvBuilder.get(drvBase(drv));
      if (this.hookFailure(i, logTail, drv, builder, firstText)) return;
      this.add(
        i,
        buildFailed(builder, builderReason[1]!, "2.29+ (Determinate 3.5+)", logTail),
        [...ev, `Reason: ${reasons[0]}`, ...logTail.map((x) => `> ${x}`)],
        {
          drv,
          ...(builder ? { builder } : {}),
          ...(builderReason[2] ? { exitCode: Number(builderReason[2]) } : {}),
          ...(logTail.length ? { logTail } : {}),
        },
      );
      return;
    }
    const old = reasons.includes("required system or feature not available");
    const mismatch = reasons.includes("platform mismatch");
    const missing = reasons.includes("missing system features");
    const maxJobs = reasons.some((r) => r.startsWith("local builds are disabled"));
    if (old || mismatch || missing) {
      const req = get(/^Required system: '([^']+)'(?: with features \{([^}]*)\})?$/);
      const cur = get(/^Current system: '([^']+)'(?: with features \{([^}]*)\})?$/);
      const reqFeat = get(/^Required features: \{([^}]*)\}$/);
      const system = req?.[1];
      const features = list(req?.[2] ?? reqFeat?.[1] ?? "");
      const versions = old ? "2.30–2.33 (Determinate 3.6.1–3.18)" : "2.34+ (Determinate 3.19+)";
      const e = localReject(system ?? "?", features, cur?.[1] ?? "this machine", versions, maxJobs);
      this.add(i, e, [...ev, ...reasonLines], {
        drv,
        ...(system ? { system } : {}),
        features,
      });
      return;
    }
    if (maxJobs) {
      this.add(
        i,
        {
          cause: "local-builds-disabled",
          summary: "no remote builder took this build and local builds are disabled (max-jobs = 0)",
          fix: "see why the builders were not used (the findings above, 'crossnix builder probe', 'crossnix doctor'), or allow local builds with max-jobs > 0",
          nixVersions: "2.34+ (Determinate 3.19+)",
          detail: 2,
        },
        [...ev, ...reasonLines],
        { drv },
      );
    }
    // "N dependencies failed": a consequence, reported by the failing dependency's own message.
  }

  /**
   * A failure after the hook accepted the build can reach the output only as the log tail of the
   * hook's "builder failed with exit code 1": report that cause instead of a build failure.
   */
  hookFailure(at: number, tail: string[], drv: string, builder: string | undefined, text: string): boolean {
    for (const raw of tail) {
      const t = bodyOf(raw.trim());
      const w: Where = { ...(builder ? { builder, scheme: schemeOf(builder) } : {}) };
      const extra = { drv, ...(builder ? { builder } : {}) };
      const np = NOT_PRIVILEGED.exec(t);
      const sig = LACKS_SIG.exec(t);
      const sock = SOCKET_DOWN.exec(t);
      if (np) this.add(at, untrusted(w, np[1] ? "2.4+" : "≤2.3"), [text, `> ${raw}`], extra);
      else if (sig)
        this.add(at, signature(w, sig[2] === "valid signature" ? "≤2.11" : "2.12+"), [text, `> ${raw}`], extra);
      else if (sock)
        this.add(at, remoteDaemonDown(w, sock[1] === "socket" ? "2.4+" : "≤2.3"), [text, `> ${raw}`], extra);
      else continue;
      return true;
    }
    return false;
  }

  /** ≤2.28 "builder for '<drv>' failed with exit code N" and its log tail. */
  builderFailed(i: number, m: RegExpExecArray, text: string): void {
    const drv = m[1]!;
    this.claimed.add(i);
    const tail: string[] = [];
    if (m[4]) {
      // 2.3: "; last N log lines:" then N lines indented by two spaces.
      const n = Number(m[4]);
      for (let j = i + 1; j < this.lines.length && tail.length < n; j++) {
        tail.push(this.lines[j]!.text);
        this.claimed.add(j);
      }
    } else {
      let j = i + 1;
      while (j < this.lines.length && this.lines[j]!.text === "") j++;
      if (j < this.lines.length && /^last \d+ log lines:$/.test(this.lines[j]!.text)) {
        this.claimed.add(j);
        for (j++; j < this.lines.length; j++) {
          const t = this.lines[j]!.text;
          if (!t.startsWith(">")) {
            if (/^For full logs/.test(t)) this.claimed.add(j);
            break;
          }
          tail.push(t.replace(/^> ?/, ""));
          this.claimed.add(j);
        }
      }
    }
    const builder = BUILD_OF_ON.exec(this.lines[i]!.body)?.[2] ?? this.drvBuilder.get(drvBase(drv));
    if (this.hookFailure(i, tail, drv, builder, text)) return;
    this.add(i, buildFailed(builder, m[2]!, "≤2.28 (Determinate < 3.5)", tail), [text, ...tail.map((x) => `> ${x}`)], {
      drv,
      ...(builder ? { builder } : {}),
      ...(m[3] ? { exitCode: Number(m[3]) } : {}),
      ...(tail.length ? { logTail: tail } : {}),
    });
  }

  unableToStart(i: number, m: RegExpExecArray): void {
    const ev = [this.lines[i]!.text];
    this.claimed.add(i);
    let rest = m[2]!.trim();
    let versions: string;
    if (rest === "") {
      // 2.21–2.29: the reason is on the next line (an indented raw string).
      for (let j = i + 1; j < this.lines.length; j++) {
        if (this.lines[j]!.text === "") continue;
        rest = this.lines[j]!.text;
        ev.push(rest);
        this.claimed.add(j);
        break;
      }
      versions = "2.21–2.29";
    } else if (m[1] === "U") versions = "2.30+";
    else versions = /\.$/.test(rest) || /remote machines/.test(rest) ? "2.4–2.20" : "≤2.3";
    if (/^either increase/.test(rest)) {
      this.add(
        i,
        {
          cause: "local-builds-disabled",
          summary: "max-jobs is 0 (no local builds) and the Nix daemon sees no remote builders at all",
          fix:
            "register a builder ('crossnix builder add <destination>'), or find out why the daemon sees none ('crossnix doctor --fix': builders must be set where the daemon reads it, " +
            "the machines file must exist — a missing one is skipped silently —, the daemon must be restarted after edits, and an untrusted user's --builders is ignored); or allow local builds with max-jobs > 0",
          nixVersions: versions,
          detail: 3,
        },
        ev,
      );
    } else if (/^remote machines may not/.test(rest)) {
      this.add(
        i,
        {
          cause: "no-suitable-machine",
          summary:
            "max-jobs is 0 and no configured builder supports the system and features a derivation needs (or those that do were disabled after failing to connect)",
          fix: "compare the builders' systems and features ('crossnix builder list') with what the derivation requires, and fix any connection error above ('crossnix builder probe')",
          nixVersions: versions,
        },
        ev,
      );
    }
  }

  // --- single lines --------------------------------------------------------------------------

  singles(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (!this.claimed.has(i)) this.single(i, l);
    }
  }

  single(i: number, l: Line): void {
    const b = l.content;
    const t = l.text;
    const where = (): Where => {
      const builder = this.inferBuilder(i);
      return { ...(builder ? { builder } : {}), ...(builder?.includes("://") ? { scheme: schemeOf(builder) } : {}) };
    };
    const at = (w: Where) => (w.builder ? { builder: w.builder } : {});
    // These two can reach the output inside a log tail (the hook's own error), so log lines count.
    const np = NOT_PRIVILEGED.exec(b);
    if (np) {
      const w = where();
      this.add(i, untrusted(w, np[1] ? "2.4+" : "≤2.3"), [t], at(w));
      return;
    }
    const sig = LACKS_SIG.exec(b);
    if (sig) {
      const w = where();
      this.add(i, signature(w, sig[2] === "valid signature" ? "≤2.11" : "2.12+"), [t], at(w));
      return;
    }
    if (l.log) return;
    const sock = SOCKET_DOWN.exec(b);
    if (sock) {
      const versions = sock[1] === "socket" ? "2.4+" : "≤2.3";
      const w = where();
      if (w.builder) this.add(i, remoteDaemonDown(w, versions), [t], at(w));
      else this.add(i, daemonDown(versions), [t]);
      return;
    }
    if (SSH_MISSING.test(b)) {
      const w = where();
      this.add(i, sshMissing(w, b), [t], at(w));
      return;
    }
    const cnf = CMD_NOT_FOUND.exec(b);
    if (cnf) {
      const w = where();
      this.add(i, remoteProgram(w, cnf[1] ?? cnf[2] ?? cnf[3], b), [t], at(w));
      return;
    }
    const proto = this.protocol(b);
    if (proto) {
      const from = PROTO_SERVE.exec(b)?.[1] ?? PROTO_SERVE_OLD.exec(b)?.[1];
      const w = from ? { builder: from } : where();
      this.add(i, protocolNoise(w, proto.got, proto.versions), [t], at(w));
      return;
    }
    if (CLIENT_IGNORED.test(b)) {
      const old = /user-specified/.test(b);
      this.add(
        i,
        {
          cause: "client-builders-ignored",
          summary:
            "the Nix daemon ignored your 'builders' (from --builders, ~/.config/nix/nix.conf or NIX_CONFIG) because your user is not in its trusted-users",
          fix:
            "configure builders system-wide instead, where the daemon reads them (/etc/nix/machines and the daemon's nix.conf: what 'crossnix builder add' writes), " +
            "or add your user to trusted-users (root-equivalent) and restart the daemon",
          nixVersions: old ? "≤2.3 ('user-specified'); 2.4–2.21 print nothing" : "2.22+ (2.4–2.21 ignore it silently)",
        },
        [t],
      );
      return;
    }
    if (EXTRA_BUILDERS.test(b)) {
      this.add(
        i,
        {
          cause: "extra-builders-unknown",
          summary:
            "nix.conf sets 'extra-builders', which Nix ignores: 'builders' is a plain string and cannot be appended to, so those builders are not used",
          fix: "put every builder in the one 'builders' line (e.g. builders = @/etc/nix/machines) and the machines in /etc/nix/machines; 'crossnix doctor --fix' rewrites it",
          nixVersions: "all",
        },
        [t],
      );
      return;
    }
    this.machines(i, b, t);
  }

  machines(i: number, b: string, t: string): void {
    let detail: string | undefined;
    let row: string | undefined;
    let versions = "2.5+";
    const ev = [t];
    const bad = BAD_MACHINE.exec(b);
    const old = BAD_MACHINE_OLD.exec(b);
    const trace = MACHINE_TRACE.exec(b);
    if (bad) {
      detail = bad[1]!;
      row = /in a row: '(.*?)'(?: to '[^']+'| is not valid base64.*)?$|of a row: '(.*)'$/
        .exec(detail)
        ?.slice(1)
        .find(Boolean);
      if (/to 'float'/.test(detail)) versions = "2.20+";
      else if (/base64/.test(detail)) versions = "2.5–2.24";
    } else if (old) {
      detail = `unreadable row '${old[1]}'`;
      row = old[1];
      versions = "≤2.4";
    } else if (trace) {
      row = trace[2]!;
      const next = this.lines.slice(i + 1, i + 4).find((l) => /Base64/.test(l.text));
      if (next) ev.push(next.text);
      detail = `column #${trace[1]} (the base64 host key) is not valid base64${next ? `: ${next.body}` : ""}`;
      versions = "2.25+";
    } else if (SPEED_FACTOR.test(b)) {
      detail = "a speed factor is negative";
      versions = "2.20+";
    } else if (STOULL.test(b)) {
      detail = "a number column (max-jobs or speed factor) is not a number";
      versions = "≤2.4";
    } else return;
    this.claimed.add(i);
    const first = row?.trim().split(/\s+/)[0];
    this.add(
      i,
      {
        cause: "machines-file-invalid",
        summary: `a machines entry is malformed, so Nix cannot read its builders: ${detail}`,
        fix:
          "fix or remove that row in /etc/nix/machines (or in the builders setting): the columns are URI, systems, ssh key, max-jobs (integer), speed factor, " +
          "supported features, mandatory features, base64 host key, '-' for unset; 'crossnix builder list' shows how each row is read",
        nixVersions: versions,
      },
      ev,
      first ? { builder: first } : {},
    );
  }
}

function connectionWording(all: string): string | undefined {
  if (/Nix daemon disconnected unexpectedly/.test(all)) return "2.20+";
  if (FAILED_START_SSH.test(all)) return "2.15+";
  if (/unexpected end-of-file/.test(all)) return "≤2.19 (2.20+ says 'Nix daemon disconnected unexpectedly')";
  if (CANNOT_CONNECT_HOST.test(all)) return "all (ssh://); since 2.15 only once ssh itself started";
  return undefined;
}

function connectionClosed(w: Where, all: string, wording: string | undefined): Explained {
  const prog = programFor(w.scheme) ?? "nix-daemon";
  const afterSsh = /Nix daemon disconnected unexpectedly/.test(all);
  return {
    cause: "remote-connection-closed",
    summary: afterSsh
      ? `ssh reached ${builderWord(w)}, but the remote ${prog} exited before speaking Nix's protocol: most often it is not on the PATH of a non-interactive SSH session`
      : `the connection to ${builderWord(w)} closed before Nix's protocol started: either ssh failed (before Nix 2.15 ssh errors look like this) or the remote ${prog} could not start`,
    fix:
      `run what the daemon runs, as root: 'sudo ssh ${destWord(w)} ${prog} --version'. "command not found" → add ?remote-program=${NIX_PROFILE_BIN}/${prog} to the machines URI; ` +
      "an ssh error → fix that; or run 'crossnix builder probe'",
    ...(wording ? { nixVersions: wording } : {}),
  };
}

function buildFailed(builder: string | undefined, status: string, versions: string, tail: string[]): Explained {
  const what = builder
    ? `the build itself failed on '${builder}' (builder ${status}): reaching the builder worked, this is not a remote-build configuration problem`
    : `the build itself failed (builder ${status}): this is not a remote-build configuration problem`;
  return {
    cause: "build-failed",
    summary: `${what}${tail.length ? "; its last log lines are in the evidence" : ""}`,
    fix: "read the build log ('nix log <drv>', or build again with -L / --print-build-logs) and fix the derivation or its inputs",
    nixVersions: versions,
  };
}

function localReject(
  system: string,
  features: string[],
  current: string,
  versions: string,
  maxJobsZero = false,
): Explained {
  const feats = features.length ? ` with features {${features.join(", ")}}` : "";
  return {
    cause: "no-suitable-machine",
    summary:
      `no builder took this ${system} derivation${feats}, and this machine (${current}) cannot build it itself` +
      (maxJobsZero ? " (local builds are disabled, max-jobs = 0)" : ""),
    fix:
      `make a builder offer ${system}${feats ? ` and ${features.join(", ")}` : ""}: 'crossnix builder add <destination> --system ${system}` +
      features.map((f) => ` --feature ${f}`).join("") +
      "' or fix the systems/features columns of its machines entry ('crossnix builder list'); fix any connection error above ('crossnix builder probe'); " +
      "after editing configuration the daemon must be restarted ('crossnix doctor --fix')",
    nixVersions: versions,
  };
}

// ---------------------------------------------------------------------------------------------
// The "Failed to find a machine" list

interface MachineRow {
  systems: string[];
  maxJobs: number;
  supported: string[];
  /** undefined: 2.4–2.11 print supported and mandatory features as one list. */
  mandatory: string[] | undefined;
}

function parseRow(s: string): MachineRow | undefined {
  // 2.12+: ([x86_64-linux, i686-linux], 4, [big-parallel, kvm], [])
  const nu = /^\[(.*?)\],\s*(\d+),\s*\[(.*?)\],\s*\[(.*?)\]$/.exec(s);
  if (nu) return { systems: list(nu[1]!), maxJobs: Number(nu[2]), supported: list(nu[3]!), mandatory: list(nu[4]!) };
  // 2.4–2.11: (x86_64-linux, 24, benchmark, big-parallel, kvm, )
  const parts = s.split(",").map((x) => x.trim());
  const k = parts.findIndex((p) => /^\d+$/.test(p));
  if (k < 1) return undefined;
  return {
    systems: parts.slice(0, k).filter(Boolean),
    maxJobs: Number(parts[k]),
    supported: parts.slice(k + 1).filter(Boolean),
    mandatory: undefined,
  };
}

function analyseMachines(
  system: string,
  features: string[],
  rows: MachineRow[],
  count: number,
  failedBefore: boolean,
): Explained {
  const feats = features.length ? ` with features {${features.join(", ")}}` : "";
  const base = {
    cause: "no-suitable-machine" as const,
    detail: 3,
  };
  const addCmd = `crossnix builder add <destination> --system ${system}${features.map((f) => ` --feature ${f}`).join("")}`;
  if (count === 0 || rows.length === 0) {
    return {
      ...base,
      summary: `no builder is configured as the Nix daemon sees it, so nothing can build this ${system} derivation${feats}`,
      fix: `register one ('${addCmd}'), or find out why the daemon sees none ('crossnix doctor --fix': daemon's nix.conf, machines file, daemon restart)`,
    };
  }
  const sysOk = rows.filter((r) => system === "builtin" || r.systems.includes(system));
  if (sysOk.length === 0) {
    const listed = [...new Set(rows.flatMap((r) => r.systems))].join(", ");
    return {
      ...base,
      summary: `no builder lists the system ${system} (the builders offer: ${listed || "nothing"})`,
      fix: `add a ${system} builder ('${addCmd}'), or add ${system} to the systems column of a builder that can run it`,
    };
  }
  const offered = (r: MachineRow) => new Set([...r.supported, ...(r.mandatory ?? [])]);
  const featOk = sysOk.filter((r) => features.every((f) => offered(r).has(f)));
  if (featOk.length === 0) {
    const have = new Set(sysOk.flatMap((r) => [...offered(r)]));
    const missing = features.filter((f) => !have.has(f));
    const shown = missing.length ? missing : features;
    return {
      ...base,
      summary: `the ${system} builder(s) do not offer the feature(s) ${shown.join(", ")} the derivation requires (the features column is empty unless set; the local system-features defaults do not apply)`,
      fix: `if the builder supports them, list them: '${addCmd}', or add ${shown.join(",")} to column 6 of its machines entry`,
    };
  }
  const mandOk = featOk.filter((r) => r.mandatory === undefined || r.mandatory.every((f) => features.includes(f)));
  if (mandOk.length === 0) {
    const mand = [...new Set(featOk.flatMap((r) => r.mandatory ?? []))];
    return {
      ...base,
      summary: `the ${system} builder(s) only take derivations that require ${mand.join(", ")} (mandatory features), which this one does not`,
      fix: "remove those mandatory features from the machines entry (column 7), or add a builder without them",
    };
  }
  const able =
    system === "builtin"
      ? "a builder that could take this builtin derivation"
      : `a builder that offers ${system}${feats}`;
  return {
    ...base,
    summary: failedBefore
      ? `${able} is configured, but it was disabled for this run after failing to connect (see the finding above)`
      : `${able} is configured, but it was disabled for this run after failing to connect (its error is earlier in the output or in the daemon's log)`,
    fix: "fix that builder's connection ('crossnix builder probe' shows why it fails)",
  };
}

function logTailOf(part: string[]): string[] {
  const k = part.findIndex((t) => /^[Ll]ast \d+ log lines:$/.test(t));
  if (k < 0) return [];
  const tail: string[] = [];
  for (const t of part.slice(k + 1)) {
    if (!t.startsWith(">")) break;
    tail.push(t.replace(/^> ?/, ""));
  }
  return tail;
}

// ---------------------------------------------------------------------------------------------
// Merging, ordering

function sameBuilder(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && hostOf(a) === hostOf(b);
}

function merge(into: Hit, from: Hit): void {
  into.lines = uniqueLines([...into.lines, ...from.lines]);
  if (from.builder && (!into.builder || (!into.builder.includes("://") && from.builder.includes("://"))))
    into.builder = from.builder;
  into.system ??= from.system;
  if ((!into.features || into.features.length === 0) && from.features?.length) into.features = from.features;
  into.drv ??= from.drv;
  into.logTail ??= from.logTail;
  into.exitCode ??= from.exitCode;
  if (from.detail > into.detail) {
    into.summary = from.summary;
    into.fix = from.fix;
    into.detail = from.detail;
    if (from.nixVersions) into.nixVersions = from.nixVersions;
  } else into.nixVersions ??= from.nixVersions;
  into.at = Math.min(into.at, from.at);
}

function keyOf(h: Hit): string {
  if (GLOBAL.has(h.cause)) return h.cause;
  if (h.cause === "build-failed" || h.cause === "no-suitable-machine") return `${h.cause}|${drvBase(h.drv)}`;
  if (h.cause === "machines-file-invalid") return `${h.cause}|${h.lines[0]}`;
  return `${h.cause}|${h.builder ? hostOf(h.builder) : ""}`;
}

function finish(raw: Hit[]): NixDiagnosis[] {
  let hits = [...raw].sort((a, b) => a.at - b.at);

  // A builder's generic connection failure is explained by a specific finding for that builder.
  hits = hits.filter((g) => {
    if (!GENERIC_CONNECTION.has(g.cause)) return true;
    const s = hits.find((h) => h !== g && TIER[h.cause] === 0 && sameBuilder(h.builder, g.builder));
    if (!s) return true;
    merge(s, g);
    return false;
  });

  // After the hook accepted a build, its failure (untrusted, unsigned, remote daemon down) makes Nix
  // report "builder … failed with exit code 1": that is the hook's exit, not the build's.
  hits = hits.filter((f) => {
    if (f.cause !== "build-failed") return true;
    const cause = hits.find(
      (h) =>
        AFTER_ACCEPT.has(h.cause) &&
        ((h.at < f.at && f.exitCode === 1 && (!h.builder || !f.builder || sameBuilder(h.builder, f.builder))) ||
          (f.logTail ?? []).some((t) => h.lines.some((l) => l.includes(t.trim()) && t.trim() !== ""))),
    );
    if (!cause) return true;
    cause.drv ??= f.drv;
    return false;
  });

  // Same cause, same builder / derivation: one finding.
  const byKey = new Map<string, Hit>();
  const out: Hit[] = [];
  for (const h of hits) {
    const k = keyOf(h);
    const seen = byKey.get(k);
    if (seen) merge(seen, h);
    else {
      byKey.set(k, h);
      out.push(h);
    }
  }
  // A finding without builder / derivation joins one of the same cause that has it.
  const final = out.filter((h) => {
    if (GLOBAL.has(h.cause)) return true;
    const drvKeyed = h.cause === "build-failed" || h.cause === "no-suitable-machine";
    if (drvKeyed ? h.drv !== undefined : h.builder !== undefined) return true;
    const other = out.find(
      (o) => o !== h && o.cause === h.cause && (drvKeyed ? o.drv !== undefined : o.builder !== undefined),
    );
    if (!other) return true;
    merge(other, h);
    return false;
  });

  final.sort((a, b) => TIER[a.cause] - TIER[b.cause] || a.at - b.at);
  return final.map((h) => {
    const d: NixDiagnosis = { cause: h.cause, summary: h.summary, fix: h.fix, evidence: joinEvidence(h.lines) };
    if (h.builder) d.builder = h.builder;
    if (h.system) d.system = h.system;
    if (h.features && (h.cause === "no-suitable-machine" || h.features.length)) d.features = h.features;
    if (h.drv) d.drv = h.drv;
    if (h.nixVersions) d.nixVersions = h.nixVersions;
    if (h.logTail?.length) d.logTail = h.logTail;
    return d;
  });
}

/**
 * Decode what Nix printed when a (remote) build failed. Most specific finding first, one per
 * cause and builder (or derivation); [] when nothing is recognised.
 */
export function diagnoseNixOutput(stderr: string): NixDiagnosis[] {
  if (!stderr.trim()) return [];
  return new Scan(stderr).run();
}
