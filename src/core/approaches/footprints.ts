// What each way of getting Linux builds leaves on a Mac: launchd label, ssh alias file, key, workdir,
// user, port and machines host (docs/approaches.md#footprints). Detection and migration read this table.

export type ApproachId =
  | "native"
  | "linux-builder"
  | "determinate-vm-builder"
  | "nix-rosetta-builder"
  | "virby"
  | "lima"
  | "ssh"
  | "manual"
  | "emulation";

/** A VM builder a nix-darwin module runs under launchd and registers as an ssh-ng machine. */
export interface VmFootprint {
  id: "linux-builder" | "determinate-vm-builder" | "nix-rosetta-builder" | "virby";
  title: string;
  /** launchd label; the plist is /Library/LaunchDaemons/<label>.plist. */
  label: string;
  /** File in /etc/ssh/ssh_config.d/ holding the alias. */
  sshConfigFile: string;
  /** The ssh alias (machines URI host). */
  alias: string;
  port: number;
  /** The key the daemon logs in with. */
  key: string;
  workdir: string;
  /** Dedicated macOS user the VM runs as, when the module makes one. */
  user: { name: string; uid: number } | null;
  /** The nix-darwin option that turns it off (migrate prints it; it owns the files). */
  disableOption: string;
  /** Systems the module registers by default. */
  systems: string[];
}

/** docs/approaches.md#footprints: one row per nix-darwin-managed VM builder. */
export const VM_FOOTPRINTS: readonly VmFootprint[] = [
  {
    id: "linux-builder",
    title: "nix-darwin linux-builder",
    label: "org.nixos.linux-builder",
    sshConfigFile: "/etc/ssh/ssh_config.d/100-linux-builder.conf",
    alias: "linux-builder",
    port: 31022,
    key: "/etc/nix/builder_ed25519",
    workdir: "/var/lib/linux-builder",
    user: null,
    disableOption: "nix.linux-builder.enable = false;",
    systems: ["aarch64-linux"],
  },
  {
    id: "determinate-vm-builder",
    title: "Determinate module VM builder",
    label: "org.nixos.nixos-vm-based-linux-builder",
    sshConfigFile: "/etc/ssh/ssh_config.d/100-nixos-vm-based-linux-builder.conf",
    alias: "nixos-vm-based-linux-builder",
    port: 31022,
    key: "/etc/nix/builder_ed25519",
    workdir: "/var/lib/nixos-vm-based-linux-builder",
    user: null,
    disableOption: "determinateNix.nixosVmBasedLinuxBuilder.enable = false;",
    systems: ["aarch64-linux"],
  },
  {
    id: "nix-rosetta-builder",
    title: "nix-rosetta-builder",
    label: "org.nixos.rosetta-builderd",
    sshConfigFile: "/etc/ssh/ssh_config.d/100-rosetta-builder.conf",
    alias: "rosetta-builder",
    port: 31122,
    key: "/var/lib/rosetta-builder/ssh_user_ed25519_key",
    workdir: "/var/lib/rosetta-builder",
    user: { name: "_rosettabuilder", uid: 349 },
    disableOption: "nix-rosetta-builder.enable = false;",
    systems: ["aarch64-linux", "x86_64-linux"],
  },
  {
    id: "virby",
    title: "Virby",
    label: "org.nixos.virbyd",
    sshConfigFile: "/etc/ssh/ssh_config.d/100-virby-vm.conf",
    alias: "virby-vm",
    port: 31222,
    key: "/var/lib/virby/ssh_user_ed25519_key",
    workdir: "/var/lib/virby",
    user: { name: "_virby", uid: 348 },
    disableOption: "services.virby.enable = false;",
    systems: ["aarch64-linux"],
  },
];

/** Ports a new VM must not take: the modules above, and Lima's legacy 60022. */
export const RESERVED_PORTS: readonly number[] = [31022, 31122, 31222, 60022];

/** Determinate's native builder (docs/determinate-native.md). */
export const NATIVE = {
  nixdProgram: "/usr/local/bin/determinate-nixd",
  configFile: "/etc/determinate/config.json",
  daemonLabel: "systems.determinate.nix-daemon",
  /** Determinate 3.8.4 announced it (docs/determinate-native.md#versions). */
  minimumDeterminate: "3.8.4",
  systems: ["aarch64-linux", "x86_64-linux"],
} as const;

/** The plist of a launchd system daemon. */
export function launchDaemonPlist(label: string): string {
  return `/Library/LaunchDaemons/${label}.plist`;
}

/** Where macOS keeps a local user's record (root-readable; files only, no dscl). */
export function localUserRecord(name: string): string {
  return `/var/db/dslocal/nodes/Default/users/${name}.plist`;
}
