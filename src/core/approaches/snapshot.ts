// What status reads about this machine, gathered by host/approaches/snapshot.ts: files, plus (with
// --probe) what local programs and builders answer. core/approaches/detect.ts decides from it alone.
import type { VmRecord } from "../vm/record.js";
import type { NativeFacts } from "./native.js";

export interface SnapshotFile {
  path: string;
  text: string | null;
  /** Symlink target, when it is one (nix-darwin links its /etc files into /etc/static). */
  link: string | null;
}

export interface ApproachSnapshot {
  platform: string;
  /** This machine's system, e.g. aarch64-darwin. */
  system: string;
  nix: { flavor: string; version: string | null; determinate: string | null; raw: string | null };
  native: NativeFacts;
  /** Names of plists in /Library/LaunchDaemons and ~/Library/LaunchAgents. */
  launchDaemons: string[];
  launchAgents: string[];
  /** Every file in /etc/ssh/ssh_config.d. */
  sshConfigFiles: SnapshotFile[];
  /** /etc/nix/machines. */
  machines: SnapshotFile;
  /** ~/.config/nix/machines (the guide's; Nix never reads it unless builders names it). */
  userMachines: SnapshotFile;
  /** `builders` as the daemon reads it (null = default @/etc/nix/machines) and where it was set. */
  builders: { value: string | null; source: string | null };
  extraPlatforms: string[];
  substituters: string[];
  trustedPublicKeys: string[];
  /** Paths that exist among the ones the footprint table names (keys, workdirs, user records). */
  existing: string[];
  vmRecords: VmRecord[];
  /** Lima instance directories that hold lima.yaml / ha.pid, by VM record name. */
  limaInstances: Record<string, { config: boolean; running: boolean }>;
  /** Entries in /proc/sys/fs/binfmt_misc (Linux). */
  binfmt: string[];
  env: { NIX_REMOTE_SYSTEMS?: string };
  /** Shell profile lines that set NIX_REMOTE_SYSTEMS. */
  profileLines: { file: string; line: number; text: string }[];
  /** Only with --probe: launchd jobs loaded, and builder addresses that accepted a connection. */
  probe: {
    launchd: Record<string, { loaded: boolean; pid: number | null }>;
    reachable: Record<string, boolean>;
  } | null;
}
