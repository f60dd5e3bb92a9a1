// The script run on a builder over one SSH connection, and the parser of what it prints.
import { parseNixVersion } from "../nix/version.js";
import { trustsUser } from "../nix/trust.js";

/**
 * One SSH round trip gathers every fact about a builder. The script runs in the remote user's
 * non-interactive shell — the same environment `nix-daemon --stdio` / `nix-store --serve` get — so
 * "not on PATH" here means Nix will not find it either (docs/ssh.md#remote-program).
 */
export const PROBE_BEGIN = "@@crossnix-probe-begin@@";
export const PROBE_END = "@@crossnix-probe-end@@";

/** Where installers put Nix when a non-interactive shell does not have it on PATH. */
export const NIX_BIN_CANDIDATES = [
  "/nix/var/nix/profiles/default/bin",
  "/run/current-system/sw/bin",
  "/etc/profiles/per-user/$USER/bin",
  "$HOME/.nix-profile/bin",
];

export const PROBE_SCRIPT = [
  `echo '${PROBE_BEGIN}'`,
  `kv() { printf '%s=%s\\n' "$1" "$2"; }`,
  `kv user "$(id -un)"`,
  `kv groups "$(id -Gn)"`,
  `kv uname "$(uname -sm)"`,
  `kv path "$PATH"`,
  `kv nix-daemon "$(command -v nix-daemon)"`,
  `kv nix-store "$(command -v nix-store)"`,
  `for d in ${NIX_BIN_CANDIDATES.map((d) => `"${d}"`).join(" ")}; do [ -x "$d/nix-daemon" ] && kv candidate "$d"; done`,
  `NIX=$(command -v nix); [ -n "$NIX" ] || for d in ${NIX_BIN_CANDIDATES.map((d) => `"${d}"`).join(" ")}; do [ -x "$d/nix" ] && NIX="$d/nix" && break; done`,
  `if [ -n "$NIX" ]; then`,
  `  kv nix-version "$("$NIX" --version 2>/dev/null | head -n 1)"`,
  // `nix config show` replaced `nix show-config` in 2.20, which stays as a deprecated alias
  // (docs/nix-commands.md#config-show): the old name first costs nothing on new Nix and saves a failing start on old.
  `  { "$NIX" --extra-experimental-features nix-command show-config 2>/dev/null || "$NIX" --extra-experimental-features nix-command config show 2>/dev/null; } | grep -E '^(system|extra-platforms|system-features|trusted-users|max-jobs|require-sigs) = ' | sed 's/^/conf-/'`,
  // Trust as the remote daemon decides it; only 2.15+ reports it (docs/nix-commands.md#store-info), and only a
  // daemon can refuse trust, so single-user stores skip these (each nix start costs ~40 ms CPU).
  `  if [ -S /nix/var/nix/daemon-socket/socket ]; then`,
  `    kv daemon-socket yes`,
  `    "$NIX" --extra-experimental-features nix-command store info --json --store daemon 2>/dev/null | sed 's/^/store-info=/' || "$NIX" --extra-experimental-features nix-command store ping --json --store daemon 2>/dev/null | sed 's/^/store-info=/'`,
  `  fi`,
  `fi`,
  `[ -w /nix/store ] && kv store-writable yes`,
  `kv cpus "$(nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null)"`,
  `kv disk "$(df -Pk /nix 2>/dev/null | tail -n 1)"`,
  `echo '${PROBE_END}'`,
].join("\n");

export interface ProbeFacts {
  user: string;
  groups: string[];
  uname: string;
  nixVersion: string | null;
  determinateVersion: string | null;
  /** `system` plus `extra-platforms`, in that order. */
  systems: string[];
  features: string[];
  cpus: number | null;
  freeBytes: number | null;
  /** Absolute paths of nix-daemon / nix-store when on the non-interactive PATH. */
  onPath: { nixDaemon: string | null; nixStore: string | null };
  /** Directories holding Nix that are not on PATH (to propose --remote-program). */
  candidates: string[];
  trusted: boolean | null;
  trustSource: "store-info" | "trusted-users" | "single-user-store" | null;
  trustedUsers: string[];
  /** Output the login shell printed before our script ran: it corrupts Nix's protocol. */
  shellNoise: string;
}

export function parseProbeOutput(stdout: string): ProbeFacts | null {
  const begin = stdout.indexOf(PROBE_BEGIN);
  const end = stdout.indexOf(PROBE_END);
  if (begin < 0 || end < begin) return null;
  const values = new Map<string, string[]>();
  const conf = new Map<string, string>();
  for (const line of stdout.slice(begin + PROBE_BEGIN.length, end).split("\n")) {
    const setting = /^conf-([\w-]+) = (.*)$/.exec(line);
    if (setting) {
      conf.set(setting[1]!, setting[2]!.trim());
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const list = values.get(key) ?? [];
    list.push(line.slice(eq + 1).trim());
    values.set(key, list);
  }
  const one = (key: string) => values.get(key)?.[0] ?? "";
  const words = (key: string) => one(key).split(/\s+/).filter(Boolean);
  const version = parseNixVersion(one("nix-version"));
  const confWords = (name: string) => (conf.get(name) ?? "").split(/\s+/).filter(Boolean);
  const systems = [...confWords("system"), ...confWords("extra-platforms")];
  const user = one("user");
  const groups = words("groups");
  const trustedUsers = confWords("trusted-users");
  const trust = decideTrust(values, user, groups, trustedUsers);
  const disk = one("disk").split(/\s+/);
  const availableKb = Number(disk[3]);
  return {
    user,
    groups,
    uname: one("uname"),
    nixVersion: version?.nix ?? null,
    determinateVersion: version?.determinate ?? null,
    systems: [...new Set(systems)],
    features: confWords("system-features"),
    cpus: Number.parseInt(one("cpus"), 10) || null,
    freeBytes: Number.isFinite(availableKb) && disk.length >= 4 ? availableKb * 1024 : null,
    onPath: { nixDaemon: one("nix-daemon") || null, nixStore: one("nix-store") || null },
    candidates: values.get("candidate") ?? [],
    trusted: trust.trusted,
    trustSource: trust.source,
    trustedUsers,
    shellNoise: stdout.slice(0, begin),
  };
}

function decideTrust(
  values: Map<string, string[]>,
  user: string,
  groups: string[],
  trustedUsers: string[],
): { trusted: boolean | null; source: ProbeFacts["trustSource"] } {
  const info = values.get("store-info")?.[0];
  if (info) {
    try {
      const parsed = JSON.parse(info) as { trusted?: boolean | number };
      if (parsed.trusted !== undefined) return { trusted: Boolean(parsed.trusted), source: "store-info" };
    } catch {
      // older Nix printed no JSON; fall through to the configuration
    }
  }
  if (values.get("daemon-socket")?.[0] !== "yes") {
    // No daemon: `nix-daemon --stdio` opens the store itself and treats the client as trusted,
    // provided the user can write the store (single-user install).
    return values.get("store-writable")?.[0] === "yes"
      ? { trusted: true, source: "single-user-store" }
      : { trusted: null, source: null };
  }
  if (trustedUsers.length === 0) return { trusted: null, source: null };
  const trusted = trustsUser(trustedUsers, user, groups);
  return { trusted, source: "trusted-users" };
}
