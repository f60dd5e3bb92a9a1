// Every system path crossnix uses, relocatable with CROSSNIX_ROOT.
import { statSync } from "node:fs";
import path from "node:path";
import { badInput } from "../../errors.js";

/**
 * Every system path crossnix reads or writes goes through here, so `CROSSNIX_ROOT` (a directory
 * standing in for `/`) relocates all of them at once for tests and cautious users.
 */
export const SYSTEM_PATHS = {
  nixConfDir: "/etc/nix",
  nixConf: "/etc/nix/nix.conf",
  /** Determinate's installer owns nix.conf; nix.custom.conf is for settings (docs/paths.md#determinate). */
  nixCustomConf: "/etc/nix/nix.custom.conf",
  /** Default of the `builders` setting is `@/etc/nix/machines` (docs/nix-settings.md#builders). */
  machines: "/etc/nix/machines",
  keysDir: "/etc/nix/crossnix",
  /** Pinned host keys under each alias, named by the alias's GlobalKnownHostsFile, for plain `ssh <alias>`. */
  knownHosts: "/etc/nix/crossnix/known_hosts",
  stateDir: "/etc/nix/crossnix",
  lockFile: "/etc/nix/crossnix/.lock",
  backupsDir: "/etc/nix/crossnix/backups",
  /** The plan being applied; present after a run only if that run died mid-apply. */
  journal: "/etc/nix/crossnix/journal.json",
  /** One record per applied (or rolled back) plan. */
  historyDir: "/etc/nix/crossnix/history",
  sshConfigDir: "/etc/ssh/ssh_config.d",
  sshAliasFile: "/etc/ssh/ssh_config.d/crossnix.conf",
  sshSystemConfig: "/etc/ssh/ssh_config",
  sshKnownHosts: "/etc/ssh/ssh_known_hosts",
  determinateConfig: "/etc/determinate/config.json",
  determinateNixd: "/usr/local/bin/determinate-nixd",
  nixDaemonSocket: "/nix/var/nix/daemon-socket/socket",
  nixProfileBin: "/nix/var/nix/profiles/default/bin",
  launchDaemonsDir: "/Library/LaunchDaemons",
} as const;

export type SystemPathName = keyof typeof SYSTEM_PATHS;

/**
 * The directory standing in for `/` ("/" when unset). Set but empty or relative is bad input:
 * `CROSSNIX_ROOT=$TYPO crossnix …` must not quietly mean the real machine. A directory that does
 * not exist yet stands for an empty machine (writes create it).
 */
export function rootDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env["CROSSNIX_ROOT"];
  if (root === undefined) return "/";
  const problem =
    root === ""
      ? "is set but empty"
      : !path.isAbsolute(root)
        ? "is not an absolute path"
        : isNonDirectory(root)
          ? "is not a directory"
          : null;
  if (problem) {
    throw badInput(
      "CROSSNIX_ROOT",
      root,
      problem,
      "unset it to work on this machine, or point it at a directory standing in for /",
    );
  }
  return path.resolve(root);
}

function isNonDirectory(p: string): boolean {
  try {
    return !statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Map an absolute system path (as users and config files see it) to where it really lives. */
export function resolveSystemPath(systemPath: string, root: string): string {
  if (!path.isAbsolute(systemPath)) return systemPath;
  return root === "/" ? systemPath : path.join(root, systemPath);
}
