// `builder setup-remote`'s pure part: scripts run on the builder and the parsers of their output.
// One file because each script and the parser of its `kv` output must change together.
import { CrossnixError } from "../../errors.js";
import type { Destination } from "./destination.js";
import {
  getSetting,
  listIncludes,
  parseNixConf,
  renderNixConf,
  setSetting,
  validateNixConf,
} from "../formats/nix-conf.js";
import { emptyPlan, type FileChange, type Plan, type PlanCommand } from "../plan/plan.js";
import { isGeneratedLink, trustsUser } from "../nix/trust.js";
import { PROBE_SCRIPT, type ProbeFacts, parseProbeOutput } from "./probe.js";

/**
 * `builder setup-remote`: make the builder's SSH user trusted by the builder's Nix daemon. This
 * module is the pure part: the scripts that run on the builder (constant text; every value
 * reaches them as a positional parameter), what their output says, and what to change.
 */

export const REMOTE_NIX_CONF = "/etc/nix/nix.conf";
export const REMOTE_CUSTOM_CONF = "/etc/nix/nix.custom.conf";
export const DETERMINATE_NIXD = "/usr/local/bin/determinate-nixd";
export const LAUNCHD_LABELS = ["systems.determinate.nix-daemon", "org.nixos.nix-daemon"] as const;

const BEGIN = "@@crossnix-setup-begin@@";
const END = "@@crossnix-setup-end@@";

/**
 * Run as the SSH user (no sudo): the probe, then the configuration files and how the daemon is
 * run. File contents travel base64-encoded so every byte arrives as it is.
 */
export const REMOTE_FACTS_SCRIPT = [
  PROBE_SCRIPT,
  `echo '${BEGIN}'`,
  `kv os "$(uname -s)"`,
  `for f in ${REMOTE_NIX_CONF} ${REMOTE_CUSTOM_CONF}; do`,
  `  [ -L "$f" ] && kv "link $f" "$(readlink "$f")"`,
  `  if [ -e "$f" ]; then`,
  `    kv "exists $f" yes`,
  `    if [ -r "$f" ]; then kv "cksum $f" "$(cksum < "$f")"; kv "base64 $f" "$(base64 < "$f" | tr -d '\\n')"; fi`,
  `  fi`,
  `done`,
  `[ -e /etc/NIXOS ] && kv nixos yes`,
  `[ -e ${DETERMINATE_NIXD} ] && kv determinate-nixd yes`,
  `if command -v systemctl >/dev/null 2>&1; then`,
  `  kv systemd-service "$(systemctl is-active nix-daemon.service 2>/dev/null)"`,
  `  kv systemd-socket "$(systemctl is-active nix-daemon.socket 2>/dev/null)"`,
  `fi`,
  `for l in ${LAUNCHD_LABELS.join(" ")}; do [ -e "/Library/LaunchDaemons/$l.plist" ] && kv launchd "$l"; done`,
  `kv sudo "$(command -v sudo)"`,
  `echo '${END}'`,
].join("\n");

export interface RemoteFile {
  path: string;
  exists: boolean;
  /** Target of the symbolic link, when the path is one. */
  link: string | null;
  /** Contents; null when missing or unreadable by the SSH user. */
  text: string | null;
  /** `cksum` output for the contents (the write checks the file still has it). */
  cksum: string | null;
}

export interface RemoteFacts {
  probe: ProbeFacts;
  /** `uname -s`: Linux, Darwin, … */
  os: string;
  nixConf: RemoteFile;
  customConf: RemoteFile;
  nixos: boolean;
  determinateNixd: boolean;
  /** `systemctl is-active` of nix-daemon.service / .socket; null without systemctl. */
  systemd: { service: string; socket: string } | null;
  /** launchd jobs whose plist exists, in preference order. */
  launchd: string[];
  /** Path of sudo, or null. */
  sudo: string | null;
}

function decodeFile(values: Map<string, string>, path: string): RemoteFile {
  const link = values.get(`link ${path}`) ?? null;
  const exists = values.get(`exists ${path}`) === "yes";
  const encoded = values.get(`base64 ${path}`);
  let text: string | null = null;
  if (exists && encoded !== undefined) {
    const bytes = Buffer.from(encoded, "base64");
    const decoded = bytes.toString("utf8");
    // Only text that round-trips is edited: anything else could not be written back byte for byte.
    if (!Buffer.from(decoded, "utf8").equals(bytes)) {
      throw new CrossnixError("UNSUPPORTED", `${path} on the builder is not valid UTF-8; crossnix will not edit it`, {
        hint: "add the user to trusted-users by hand",
      });
    }
    text = decoded;
  }
  return { path, exists, link, text, cksum: values.get(`cksum ${path}`) ?? null };
}

/** Parses REMOTE_FACTS_SCRIPT's output; null when it did not run to the end. */
export function parseRemoteFacts(stdout: string): RemoteFacts | null {
  const probe = parseProbeOutput(stdout);
  const begin = stdout.indexOf(BEGIN);
  const end = stdout.indexOf(END, begin);
  if (!probe || begin < 0 || end < 0) return null;
  const values = new Map<string, string>();
  const launchd: string[] = [];
  for (const line of stdout.slice(begin + BEGIN.length, end).split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "launchd") launchd.push(value.trim());
    else if (!values.has(key)) values.set(key, value);
  }
  const service = values.get("systemd-service");
  return {
    probe,
    os: (values.get("os") ?? "").trim(),
    nixConf: decodeFile(values, REMOTE_NIX_CONF),
    customConf: decodeFile(values, REMOTE_CUSTOM_CONF),
    nixos: values.get("nixos") === "yes",
    determinateNixd: values.get("determinate-nixd") === "yes",
    systemd:
      service === undefined ? null : { service: service.trim(), socket: (values.get("systemd-socket") ?? "").trim() },
    launchd,
    sudo: values.get("sudo")?.trim() || null,
  };
}

/** Who generates the builder's Nix configuration, when something does. */
export type ManagedBy = "NixOS" | "nix-darwin" | "the Determinate nix-darwin module";

export type RemoteLayout =
  | { kind: "managed"; by: ManagedBy; evidence: string[] }
  | { kind: "editable"; file: RemoteFile; determinate: boolean; evidence: string[] };

/** Where trusted-users belongs on the builder, or why crossnix must not write it there. */
export function detectRemoteLayout(facts: RemoteFacts): RemoteLayout {
  const evidence: string[] = [];
  const includesCustom =
    facts.nixConf.text !== null &&
    listIncludes(parseNixConf(facts.nixConf.text, REMOTE_NIX_CONF)).some(
      (i) => i.path === "nix.custom.conf" || i.path === REMOTE_CUSTOM_CONF,
    );
  if (includesCustom) evidence.push(`${REMOTE_NIX_CONF} includes nix.custom.conf`);
  if (facts.determinateNixd) evidence.push(`${DETERMINATE_NIXD} exists`);
  const determinate = includesCustom || facts.determinateNixd;
  if (facts.nixos) {
    evidence.push("/etc/NIXOS exists");
    return { kind: "managed", by: "NixOS", evidence };
  }
  if (isGeneratedLink(REMOTE_NIX_CONF, facts.nixConf.link)) {
    evidence.push(`${REMOTE_NIX_CONF} links to ${facts.nixConf.link}`);
    return { kind: "managed", by: facts.os === "Darwin" ? "nix-darwin" : "NixOS", evidence };
  }
  if (determinate && isGeneratedLink(REMOTE_CUSTOM_CONF, facts.customConf.link)) {
    evidence.push(`${REMOTE_CUSTOM_CONF} links to ${facts.customConf.link}`);
    return { kind: "managed", by: "the Determinate nix-darwin module", evidence };
  }
  const file = determinate ? facts.customConf : facts.nixConf;
  if (file.link !== null) evidence.push(`${file.path} links to ${file.link}`);
  return { kind: "editable", file, determinate, evidence };
}

/** A Nix string literal. */
function nixString(s: string): string {
  return `"${s.replace(/[\\"]/g, "\\$&").replace(/\$\{/g, "\\${")}"`;
}

/** `trusted-users` with the user appended (nothing dropped; `root` when the list was the default). */
export function withUser(trustedUsers: readonly string[], user: string): string[] {
  const base = trustedUsers.length > 0 ? [...trustedUsers] : ["root"];
  return base.includes(user) ? base : [...base, user];
}

/** What to put in the NixOS / nix-darwin configuration instead of editing a generated file. */
export function managedOption(by: ManagedBy, trustedUsers: readonly string[], user: string): string {
  const list = `[ ${withUser(trustedUsers, user).map(nixString).join(" ")} ]`;
  return by === "the Determinate nix-darwin module"
    ? `determinateNix.customSettings.trusted-users = ${list};`
    : `nix.settings.trusted-users = ${list};`;
}

export type RestartMethod = { kind: "systemd"; argv: string[] } | { kind: "launchd"; label: string; argv: string[] };

const UNIT_EXISTS = new Set(["active", "activating", "reloading", "deactivating", "failed", "refreshing"]);

/** How the builder's daemon is restarted: systemd's nix-daemon.service, or its launchd job on macOS. */
export function restartMethod(facts: RemoteFacts): RestartMethod | null {
  if (facts.os === "Darwin") {
    const label = facts.launchd[0];
    return label ? { kind: "launchd", label, argv: ["launchctl", "kickstart", "-k", `system/${label}`] } : null;
  }
  if (facts.systemd && (UNIT_EXISTS.has(facts.systemd.service) || UNIT_EXISTS.has(facts.systemd.socket))) {
    return { kind: "systemd", argv: ["systemctl", "restart", "nix-daemon.service"] };
  }
  return null;
}

/** The value the root script is given for the restart: none, systemd, launchd:<label>. */
export function restartArg(method: RestartMethod | null): string {
  if (!method) return "none";
  return method.kind === "systemd" ? "systemd" : `launchd:${method.label}`;
}

export type TrustDecision =
  | { kind: "trusted"; source: string }
  | { kind: "managed"; by: ManagedBy; option: string; evidence: string[] }
  | {
      kind: "change";
      /** The file written, its text before (null: created) and after; after === before: only a restart. */
      file: string;
      before: string | null;
      after: string;
      /** What the write checks first: the file's cksum, or "absent". */
      expected: string;
      determinate: boolean;
      trustedUsers: string[];
      restart: RestartMethod | null;
      evidence: string[];
    };

/**
 * What it takes for the daemon to trust `facts.probe.user`. The value written is the file's own
 * `trusted-users` (or, when the file has none, the effective value, Nix's default `root` at worst)
 * with the user appended; every other byte of the file stays.
 */
export function decideTrust(facts: RemoteFacts, host: string): TrustDecision {
  const { probe } = facts;
  if (probe.trusted === true) {
    const source =
      probe.trustSource === "store-info"
        ? "the daemon reports it"
        : probe.trustSource === "single-user-store"
          ? "no daemon: the user owns the store"
          : `trusted-users = ${probe.trustedUsers.join(" ")}`;
    return { kind: "trusted", source };
  }
  if (probe.nixVersion === null && !facts.nixConf.exists) {
    throw new CrossnixError(
      "NOT_FOUND",
      `no Nix found on ${host} (no nix on the login's PATH or in the usual places, no ${REMOTE_NIX_CONF})`,
      {
        hint: "install Nix on the builder first",
        nothingWritten: true,
      },
    );
  }
  const layout = detectRemoteLayout(facts);
  if (layout.kind === "managed") {
    return {
      kind: "managed",
      by: layout.by,
      option: managedOption(layout.by, probe.trustedUsers, probe.user),
      evidence: layout.evidence,
    };
  }
  const { file, determinate } = layout;
  if (file.link !== null) {
    throw new CrossnixError(
      "UNSUPPORTED",
      `${host}:${file.path} is a symbolic link to ${file.link}; crossnix edits only regular files`,
      {
        hint: `add '${probe.user}' to trusted-users in the file it points to, then restart the builder's nix-daemon`,
        nothingWritten: true,
      },
    );
  }
  if (file.exists && (file.text === null || file.cksum === null)) {
    throw new CrossnixError("PERMISSION", `${probe.user} cannot read ${host}:${file.path}`, {
      hint: `make it readable (it normally is: 0644), or add '${probe.user}' to trusted-users there by hand`,
      nothingWritten: true,
    });
  }
  const before = file.exists ? file.text! : null;
  const conf = parseNixConf(before ?? "", `${host}:${file.path}`);
  validateNixConf(conf);
  const own = getSetting(conf, "trusted-users");
  const current = own ? own.value.split(" ").filter(Boolean) : probe.trustedUsers;
  const wanted = withUser(current, probe.user);
  const listed = trustsUser(current, probe.user, probe.groups);
  if (own && listed && probe.trustedUsers.length > 0 && !trustsUser(probe.trustedUsers, probe.user, probe.groups)) {
    throw new CrossnixError(
      "CONFLICT",
      `${host}:${file.path}:${own.line} already trusts '${probe.user}', but Nix's effective trusted-users is '${probe.trustedUsers.join(" ")}'`,
      {
        hint: "a later assignment (another file, an include or NIX_CONFIG) overrides it; fix that on the builder",
        nothingWritten: true,
      },
    );
  }
  let after = before ?? "";
  if (!listed) {
    const comment = own
      ? undefined
      : `added by crossnix builder setup-remote: ${probe.user} may build for remote clients`;
    after = renderNixConf(setSetting(conf, "trusted-users", wanted.join(" "), comment));
  }
  return {
    kind: "change",
    file: file.path,
    before,
    after,
    expected: file.exists ? file.cksum! : "absent",
    determinate,
    trustedUsers: wanted,
    restart: restartMethod(facts),
    evidence: layout.evidence,
  };
}

/** Where the old file is kept, next to itself. */
export function backupPath(file: string, stamp: string): string {
  return `${file}.crossnix-backup-${stamp}`;
}

/** A UTC timestamp usable in a file name: 20250102T030405Z. */
export function backupStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * The remote change as a plan, for the plan runner: its file is on `host` (the machine its
 * applier reaches, shown as `host:path`); applying it is the builder applier's job.
 */
export function remotePlan(
  decision: Extract<TrustDecision, { kind: "change" }>,
  host: string,
  user: string,
  stamp: string,
): Plan {
  const plan = emptyPlan(`Make '${user}' a trusted user of the Nix daemon on ${host}`);
  if (decision.after !== (decision.before ?? "")) {
    const change: FileChange = {
      path: decision.file,
      machine: host,
      before: decision.before,
      after: decision.after,
      reason: `trusted-users = ${decision.trustedUsers.join(" ")}${decision.determinate ? " (Determinate Nix reads settings from nix.custom.conf)" : ""}`,
    };
    plan.files.push(change);
    plan.notes.push(
      decision.before === null
        ? `${host}:${decision.file} is created (mode 0644), as root through sudo.`
        : `Written as root through sudo, only if ${decision.file} is still what was read; the old file is kept as ${backupPath(decision.file, stamp)}.`,
    );
  } else {
    plan.notes.push(
      `trusted-users on ${host} already admits '${user}', but the running daemon does not trust it yet: it has not been restarted since.`,
    );
  }
  if (decision.restart) {
    const command: PlanCommand = {
      argv: decision.restart.argv,
      description: `on ${host}, with sudo: restart the Nix daemon (${decision.restart.kind === "systemd" ? "systemd nix-daemon.service" : `launchd ${decision.restart.label}`}), which reads nix.conf only at start`,
    };
    plan.commands.push(command);
  } else {
    plan.notes.push(
      `crossnix cannot restart the Nix daemon on ${host}: no nix-daemon systemd unit or launchd job was found. Restart it yourself; until then it keeps the old trusted-users.`,
    );
  }
  return plan;
}

// ---- applying ---------------------------------------------------------------------------------

export const ROOT_MARK = "@@crossnix-root@@";
const FAIL_MARK = "@@crossnix-fail@@";
const WRITTEN_MARK = "@@crossnix-written@@";
const RESTARTED_MARK = "@@crossnix-restarted@@";
const NO_SUDO_MARK = "@@crossnix-no-sudo@@";

/** A command line has room for about 128 KiB; nix.conf files are a few KiB. */
export const MAX_REMOTE_FILE = 64 * 1024;

/**
 * Runs as root (through sudo). $1 file, $2 expected cksum ("absent": must not exist; "-": no file
 * change), $3 new contents, $4 backup path, $5 restart (none | systemd | launchd:<label>).
 * The file is replaced only if it is still what was read: backed up next to itself, written to a
 * temporary file in the same directory that starts as a copy (so mode and owner stay), renamed.
 */
export const ROOT_SCRIPT = [
  "set -u",
  "file=$1 expected=$2 content=$3 backup=$4 restart=$5",
  `echo '${ROOT_MARK}'`,
  "umask 022",
  `fail() { echo "${FAIL_MARK} $1"; exit "\${2:-1}"; }`,
  'same() { [ -f "$file" ] && [ ! -L "$file" ] && [ "$(cksum < "$file")" = "$expected" ]; }',
  'if [ "$expected" != - ]; then',
  '  tmp="$(dirname "$file")/.$(basename "$file").crossnix.$$"',
  '  if [ "$expected" = absent ]; then',
  '    { [ -e "$file" ] || [ -L "$file" ]; } && fail "$file appeared since it was read" 3',
  '    : > "$tmp" && chmod 0644 "$tmp" || fail "cannot create $tmp"',
  "  else",
  '    same || fail "$file changed since it was read" 3',
  '    cp -p "$file" "$backup" || fail "cannot back up $file to $backup"',
  '    cp -p "$file" "$tmp" || fail "cannot create $tmp"',
  "  fi",
  `  printf '%s' "$content" > "$tmp" || { rm -f "$tmp"; fail "cannot write $tmp"; }`,
  '  if [ "$expected" != absent ] && ! same; then rm -f "$tmp"; fail "$file changed since it was read" 3; fi',
  '  mv -f "$tmp" "$file" || { rm -f "$tmp"; fail "cannot replace $file"; }',
  `  echo "${WRITTEN_MARK}"`,
  "fi",
  'case "$restart" in',
  "  none) exit 0 ;;",
  '  systemd) out=$(systemctl restart nix-daemon.service 2>&1) || fail "systemctl restart nix-daemon.service: $out" 4 ;;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, run remotely
  '  launchd:*) out=$(launchctl kickstart -k "system/${restart#launchd:}" 2>&1) || fail "launchctl kickstart -k system/${restart#launchd:}: $out" 4 ;;',
  "esac",
  `echo '${RESTARTED_MARK}'`,
].join("\n");

/**
 * Runs as the SSH user: hands ROOT_SCRIPT ($2) to sudo. $1 is "batch" (`sudo -n`: never asks) or
 * "password" (`sudo -S`: the password is the first line of stdin); the rest go to ROOT_SCRIPT.
 */
export const SUDO_SCRIPT = [
  "mode=$1 root=$2",
  "shift 2",
  `command -v sudo >/dev/null 2>&1 || { echo '${NO_SUDO_MARK}'; exit 97; }`,
  `if [ "$mode" = password ]; then exec sudo -S -p '' -- /bin/sh -c "$root" sh "$@"; fi`,
  'exec sudo -n -- /bin/sh -c "$root" sh "$@"',
].join("\n");

/** The positional parameters of SUDO_SCRIPT. */
export function sudoArgs(
  mode: "batch" | "password",
  decision: Extract<TrustDecision, { kind: "change" }>,
  stamp: string,
): string[] {
  const changes = decision.after !== (decision.before ?? "");
  if (changes && Buffer.byteLength(decision.after) > MAX_REMOTE_FILE) {
    throw new CrossnixError(
      "UNSUPPORTED",
      `${decision.file} on the builder would be larger than ${MAX_REMOTE_FILE / 1024} KiB; crossnix will not send it`,
      {
        hint: "add the user to trusted-users by hand",
      },
    );
  }
  return [
    mode,
    ROOT_SCRIPT,
    decision.file,
    changes ? decision.expected : "-",
    changes ? decision.after : "",
    backupPath(decision.file, stamp),
    restartArg(decision.restart),
  ];
}

export type ApplyReport =
  /** sudo did not run the script: missing, or it wants a password / refused. Nothing was done. */
  | { kind: "no-sudo"; missing: boolean; message: string }
  | { kind: "failed"; written: boolean; conflict: boolean; message: string }
  | { kind: "done"; written: boolean; restarted: boolean };

/** Reads what SUDO_SCRIPT / ROOT_SCRIPT printed. */
export function parseApplyOutput(stdout: string, stderr: string, exitCode: number | null): ApplyReport {
  const lines = stdout.split("\n");
  if (lines.includes(NO_SUDO_MARK)) return { kind: "no-sudo", missing: true, message: "sudo is not installed" };
  if (!lines.includes(ROOT_MARK)) {
    const said = stderr
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !/^Sorry, try again\.?$/.test(l));
    return { kind: "no-sudo", missing: false, message: said.at(-1) ?? `sudo exited with ${exitCode}` };
  }
  const written = lines.includes(WRITTEN_MARK);
  const fail = lines.find((l) => l.startsWith(`${FAIL_MARK} `));
  if (fail) return { kind: "failed", written, conflict: exitCode === 3, message: fail.slice(FAIL_MARK.length + 1) };
  if (exitCode !== 0)
    return {
      kind: "failed",
      written,
      conflict: false,
      message: stderr.trim().split("\n").at(-1) || `exit ${exitCode}`,
    };
  return { kind: "done", written, restarted: lines.includes(RESTARTED_MARK) };
}

/** What to do when the SSH user is not trusted by the builder's daemon. */
export function trustHint(destination: Destination, facts: ProbeFacts): string {
  const target = `${destination.user ? `${destination.user}@` : ""}${destination.host}${destination.port ? `:${destination.port}` : ""}`;
  return `run 'crossnix builder setup-remote ${target}', or on the builder add '${facts.user}' to trusted-users (trusted-users = root ${facts.user}) in /etc/nix/nix.conf — nix.custom.conf with Determinate Nix — and restart its nix-daemon`;
}
