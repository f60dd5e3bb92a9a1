// The command that registers QEMU's interpreters on each Linux distribution, and NixOS's option instead.

/** /etc/os-release's ID and ID_LIKE, which name the distribution and its family. */
export interface OsRelease {
  id: string;
  idLike: string[];
}

export function parseOsRelease(text: string): OsRelease {
  const value = (key: string) => {
    const match = new RegExp(`^${key}=(.*)$`, "m").exec(text);
    return (match?.[1] ?? "").trim().replace(/^["']|["']$/g, "");
  };
  return { id: value("ID"), idLike: value("ID_LIKE").split(/\s+/).filter(Boolean) };
}

export function isNixos(release: OsRelease | null): boolean {
  return release?.id === "nixos";
}

/**
 * The package manager command that installs static QEMU user emulators and registers them with
 * binfmt_misc (with the F flag) at boot; null for a distribution crossnix does not know
 * (docs/emulation.md#packages).
 */
export function installCommand(release: OsRelease | null, qemuCpu: string): string | null {
  const family = release ? [release.id, ...release.idLike] : [];
  if (family.some((f) => f === "debian" || f === "ubuntu"))
    return "sudo apt-get install qemu-user-static binfmt-support";
  if (family.some((f) => f === "fedora" || f === "rhel" || f === "centos")) return "sudo dnf install qemu-user-static";
  if (family.includes("arch")) return "sudo pacman -S qemu-user-static qemu-user-static-binfmt";
  if (family.some((f) => f === "opensuse" || f === "suse" || f.startsWith("opensuse"))) {
    return "sudo zypper install qemu-linux-user";
  }
  if (family.includes("alpine")) return `sudo apk add qemu-${qemuCpu} qemu-openrc && sudo rc-service qemu-binfmt start`;
  return null;
}

/**
 * When the interpreter is installed but not registered: Debian's binfmt-support registers the
 * formats qemu-user-static ships (docs/emulation.md#packages); elsewhere reinstalling does.
 */
export function registerCommand(release: OsRelease | null, qemuCpu: string): string | null {
  const family = release ? [release.id, ...release.idLike] : [];
  if (family.some((f) => f === "debian" || f === "ubuntu")) return `sudo update-binfmts --enable qemu-${qemuCpu}`;
  if (family.some((f) => f === "fedora" || f === "rhel" || f === "centos" || f === "arch")) {
    return "sudo systemctl restart systemd-binfmt";
  }
  return null;
}

/** What a NixOS user puts in configuration.nix instead: NixOS registers the interpreters and sets extra-platforms. */
export function nixosSnippet(systems: string[]): string {
  return `boot.binfmt.emulatedSystems = [ ${systems.map((s) => JSON.stringify(s)).join(" ")} ];`;
}
