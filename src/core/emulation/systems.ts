// Which Linux systems QEMU user emulation can add, and how binfmt_misc recognises their ELF binaries.

/** What the kernel must recognise for a system: the ELF class, byte order and e_machine of its binaries. */
export interface EmulatedCpu {
  system: string;
  /** QEMU's name for the CPU: the interpreter is qemu-<cpu>(-static), registered as qemu-<cpu> on Debian. */
  qemuCpu: string;
  elfClass: 1 | 2;
  littleEndian: boolean;
  elfMachine: number;
}

// e_machine values from the ELF specification (docs/emulation.md#elf-machines).
const CPUS: EmulatedCpu[] = [
  { system: "aarch64-linux", qemuCpu: "aarch64", elfClass: 2, littleEndian: true, elfMachine: 0xb7 },
  { system: "x86_64-linux", qemuCpu: "x86_64", elfClass: 2, littleEndian: true, elfMachine: 0x3e },
  { system: "i686-linux", qemuCpu: "i386", elfClass: 1, littleEndian: true, elfMachine: 0x03 },
  { system: "armv7l-linux", qemuCpu: "arm", elfClass: 1, littleEndian: true, elfMachine: 0x28 },
  { system: "armv6l-linux", qemuCpu: "arm", elfClass: 1, littleEndian: true, elfMachine: 0x28 },
  { system: "riscv64-linux", qemuCpu: "riscv64", elfClass: 2, littleEndian: true, elfMachine: 0xf3 },
  { system: "powerpc64le-linux", qemuCpu: "ppc64le", elfClass: 2, littleEndian: true, elfMachine: 0x15 },
  { system: "s390x-linux", qemuCpu: "s390x", elfClass: 2, littleEndian: false, elfMachine: 0x16 },
];

export const EMULATABLE_SYSTEMS: readonly string[] = CPUS.map((c) => c.system);

export function emulatedCpu(system: string): EmulatedCpu | undefined {
  return CPUS.find((c) => c.system === system);
}

/**
 * Systems this CPU runs without an interpreter: its own, and 32-bit x86 on x86_64 (Nix already
 * lists i686-linux in extra-platforms there by default, docs/emulation.md#native).
 */
export function nativeSystems(hostSystem: string): string[] {
  return hostSystem === "x86_64-linux" ? ["x86_64-linux", "i686-linux"] : [hostSystem];
}

/** Nix's built-in extra-platforms for this machine, which a plain `extra-platforms =` line replaces. */
export function defaultExtraPlatforms(hostSystem: string): string[] {
  return hostSystem === "x86_64-linux" ? ["i686-linux"] : [];
}
