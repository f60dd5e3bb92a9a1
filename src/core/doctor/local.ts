// Doctor's checks of this machine's Nix: installed, daemon, flavour, the daemon's ssh and privileges.
import { atLeast } from "../nix/version.js";
import { type Check, type CheckFix, check } from "./types.js";

/** What doctor learned about this machine's Nix (gathered by host/doctor/local.ts). */
export interface LocalFacts {
  platform: string;
  /** This machine's Nix system, e.g. aarch64-darwin. */
  system: string;
  /** uid doctor runs as (0 sees what the daemon sees). */
  uid: number;
  nix: { present: boolean; version: string | null; determinate: string | null; raw: string | null };
  flavor: "determinate" | "upstream" | "nix-darwin" | "none";
  flavorEvidence: string[];
  mode: "daemon" | "single-user";
  settingsFile: string;
  machinesFile: string;
  readOnlyReason: string | null;
  daemon: DaemonFacts;
}

export interface DaemonFacts {
  socketPath: string;
  /** Whether a connection to the socket was accepted. */
  socket: "answers" | "refused" | "missing";
  socketError: string | null;
  pid: number | null;
  /** Start time of the listening daemon, epoch milliseconds. */
  startedAt: number | null;
  /** How precise startedAt is: ~10 ms from Linux /proc, 1000 ms from `ps -o lstart`. */
  startedAtResolutionMs?: number;
  /** Its environment, when readable (Linux /proc); null otherwise. */
  env: Record<string, string> | null;
  /** The command that restarts it here, for display; null when crossnix knows none. */
  reloadCommand: string | null;
  /**
   * Where `ssh` is on the PATH builds run with (the daemon's, or the user's on a single-user
   * install): a path, null when it is not there, undefined when that PATH is unknown (macOS daemon).
   */
  sshOnPath?: string | null;
}

const INSTALL = "curl -fsSL https://install.determinate.systems/nix | sh -s -- install";

export function nixInstalledCheck(f: LocalFacts): Check {
  if (!f.nix.present || !f.nix.version) {
    return check("nix.installed", "local", "fail", "Nix", "no `nix` on PATH (`nix --version` did not run)", {
      description: "install Nix (Determinate Nix on macOS), then open a new shell",
      command: INSTALL,
    });
  }
  const name = f.nix.determinate
    ? `Determinate Nix ${f.nix.determinate} (Nix ${f.nix.version})`
    : `Nix ${f.nix.version}`;
  if (!atLeast(f.nix.version, "2.4")) {
    // ssh-ng stores, builders-use-substitutes over ssh-ng and today's error messages start at 2.4
    // (docs/nix-settings.md#builders-use-substitutes, docs/nix-errors.md).
    return check(
      "nix.installed",
      "local",
      "warn",
      "Nix",
      `${name} is older than 2.4: no ssh-ng:// builders, no builders-use-substitutes over ssh-ng`,
      {
        description: "upgrade Nix",
        command: INSTALL,
      },
    );
  }
  return check("nix.installed", "local", "ok", "Nix", name);
}

function restartFix(f: LocalFacts, why: string): CheckFix {
  return {
    description: why,
    ...(f.daemon.reloadCommand ? { command: f.daemon.reloadCommand } : {}),
    auto: { kind: "restart-daemon" },
  };
}

export function nixDaemonCheck(f: LocalFacts): Check {
  const d = f.daemon;
  if (f.mode === "single-user") {
    return check(
      "nix.daemon",
      "local",
      "ok",
      "Nix daemon",
      "single-user install: builds, and their SSH connections, run as you, with your ~/.ssh",
    );
  }
  const pid = d.pid ? ` (pid ${d.pid}${d.startedAt ? `, started ${new Date(d.startedAt).toISOString()}` : ""})` : "";
  if (d.socket === "answers")
    return check("nix.daemon", "local", "ok", "Nix daemon", `answers on ${d.socketPath}${pid}`);
  const seen =
    d.socket === "missing"
      ? `no socket at ${d.socketPath}`
      : `${d.socketPath} refuses connections (${d.socketError ?? "refused"})`;
  return check(
    "nix.daemon",
    "local",
    "fail",
    "Nix daemon",
    `${seen}: the Nix daemon is not running, so nothing builds`,
    restartFix(f, "start the Nix daemon"),
  );
}

export function nixFlavorCheck(f: LocalFacts): Check {
  const labels = {
    determinate: "Determinate Nix",
    upstream: "upstream Nix",
    "nix-darwin": "managed by nix-darwin",
    none: "no Nix installation found",
  };
  const evidence = f.flavorEvidence.length ? ` (${f.flavorEvidence.join("; ")})` : "";
  if (f.flavor === "none") return check("nix.flavor", "local", "skip", "Installation", `${labels.none}${evidence}`);
  const where = f.readOnlyReason
    ? `settings are generated, so crossnix prints Nix snippets instead of writing: ${f.readOnlyReason}`
    : `crossnix writes settings to ${f.settingsFile}`;
  return check("nix.flavor", "local", "ok", "Installation", `${labels[f.flavor]}${evidence}; ${where}`);
}

/** The build hook runs `ssh` from the daemon's PATH (docs/nix-errors.md#ssh-missing: "unable to execute 'ssh'"). */
export function daemonSshCheck(f: LocalFacts): Check {
  const whose = f.mode === "daemon" ? "the daemon's" : "your";
  const ssh = f.daemon.sshOnPath;
  if (ssh === undefined)
    return check("nix.daemon-ssh", "local", "skip", "ssh for builds", `cannot read ${whose} environment here`);
  if (ssh) return check("nix.daemon-ssh", "local", "ok", "ssh for builds", `${ssh} is on ${whose} PATH`);
  return check(
    "nix.daemon-ssh",
    "local",
    "fail",
    "ssh for builds",
    `no ssh on ${whose} PATH: every remote build fails with "unable to execute 'ssh': No such file or directory"`,
    {
      description:
        f.mode === "daemon"
          ? "install the OpenSSH client where the daemon's PATH finds it (or add its directory to the daemon's PATH), then restart the daemon"
          : "install the OpenSSH client",
    },
  );
}

/** The daemon runs ssh as root with root's keys and config (docs/ssh.md#daemon-ssh); a user's view differs. */
export function privilegesCheck(f: LocalFacts, user: string): Check {
  if (f.uid === 0)
    return check(
      "local.root",
      "local",
      "ok",
      "Doctor runs as",
      "root: SSH checks use root's keys, ssh config and known_hosts, as the Nix daemon does",
    );
  if (f.mode === "single-user")
    return check("local.root", "local", "ok", "Doctor runs as", `${user}, who also runs builds (single-user install)`);
  return check(
    "local.root",
    "local",
    "warn",
    "Doctor runs as",
    `${user}, not root: the Nix daemon connects to builders as root, so keys only root can read cannot be checked and end-to-end builds are skipped unless you are a trusted user`,
    { description: "run doctor as root to see exactly what the daemon sees", command: "sudo crossnix doctor" },
  );
}
