// What each cause means and what to do about it, worded for the builder at hand: shared by every
// detector (a cause found on Nix's line, in ssh's lines, in a build's log tail or standing alone).
import { classifySshFailure, type SshFailure } from "../ssh.js";
import { destOf, hostOf, programFor } from "./lines.js";
import { CANNOT_CONNECT_HOST, FAILED_START_SSH, NIX_PROFILE_BIN } from "./patterns.js";
import type { Explained, Where } from "./types.js";

export function builderWord(w: Where): string {
  return w.builder ? `builder '${w.builder}'` : "the builder";
}

export function destWord(w: Where): string {
  return w.builder ? destOf(w.builder) : "<builder>";
}

export function remoteProgram(w: Where, program: string | undefined, line: string): Explained {
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

export function protocolNoise(w: Where, got: string | undefined, versions: string): Explained {
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

export function untrusted(w: Where, versions: string): Explained {
  return {
    cause: "remote-untrusted",
    summary: `the Nix daemon on ${builderWord(w)} does not trust the SSH user, so it refuses to build the derivations it is sent`,
    fix:
      `run 'crossnix builder setup-remote ${destWord(w)}', or on the builder add the SSH user to trusted-users in nix.conf ` +
      "(nix.custom.conf with Determinate Nix) and restart its nix-daemon",
    nixVersions: versions,
  };
}

export function signature(w: Where, versions: string): Explained {
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

export function remoteDaemonDown(w: Where, versions: string): Explained {
  return {
    cause: "remote-daemon-down",
    summary: `the Nix daemon on ${builderWord(w)} is not running: SSH worked, but its daemon socket refused the connection (Nix then aborts instead of trying another builder, NixOS/nix#10136)`,
    fix: "start the builder's nix-daemon (systemctl start nix-daemon.socket nix-daemon on Linux; launchctl kickstart -k system/org.nixos.nix-daemon, or systems.determinate.nix-daemon, on macOS), or 'crossnix builder disable <name>' meanwhile",
    nixVersions: versions,
  };
}

export function daemonDown(versions: string): Explained {
  return {
    cause: "daemon-down",
    summary:
      "a Nix daemon refused the connection: this machine's, unless the message came from a builder (the text is the same)",
    fix: "check the local daemon first (systemctl restart nix-daemon on Linux; sudo launchctl kickstart -k system/org.nixos.nix-daemon, or systems.determinate.nix-daemon, on macOS); if it runs, a builder's daemon is down: 'crossnix builder probe'",
    nixVersions: versions,
  };
}

export function diskFull(w: Where): Explained {
  return {
    cause: "remote-disk-full",
    summary: `the Nix store on ${builderWord(w)} cannot be opened or written: its disk is full (or failing)`,
    fix: `free space on the builder (e.g. 'ssh ${destWord(w)} nix-collect-garbage -d', or grow its disk), then 'crossnix builder probe'`,
    nixVersions: "all",
  };
}

/** ssh's own verdict, with Nix's version note; a port in the host name gets its real explanation. */
export function sshExplained(ssh: SshFailure, versions: string | undefined): Explained {
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

export function sshMissing(w: Where, line: string): Explained {
  const s = classifySshFailure("", { host: w.builder ? hostOf(w.builder) : "", spawnError: line });
  return {
    cause: "ssh-missing",
    summary: `${s.summary}: the Nix daemon (or the build hook) found no 'ssh' on its PATH`,
    fix: `${s.fix}; restart the daemon after installing ('crossnix doctor --fix')`,
    nixVersions: "all",
  };
}

export function connectionWording(all: string): string | undefined {
  if (/Nix daemon disconnected unexpectedly/.test(all)) return "2.20+";
  if (FAILED_START_SSH.test(all)) return "2.15+";
  if (/unexpected end-of-file/.test(all)) return "≤2.19 (2.20+ says 'Nix daemon disconnected unexpectedly')";
  if (CANNOT_CONNECT_HOST.test(all)) return "all (ssh://); since 2.15 only once ssh itself started";
  return undefined;
}

export function connectionClosed(w: Where, all: string, wording: string | undefined): Explained {
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

export function buildFailed(builder: string | undefined, status: string, versions: string, tail: string[]): Explained {
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

export function localReject(
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
