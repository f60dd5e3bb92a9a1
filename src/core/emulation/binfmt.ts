// binfmt_misc entries as the kernel shows them in /proc/sys/fs/binfmt_misc/<name>, and what they run.
import type { EmulatedCpu } from "./systems.js";

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** Flag letters, e.g. "PF" (F: the kernel opened the interpreter at registration, docs/emulation.md#flags). */
  flags: string;
  offset: number;
  /** Hex, as printed; absent for extension (E) entries. */
  magic: string | null;
  mask: string | null;
}

/** Parses one entry file: `enabled`, `interpreter …`, `flags: …`, `offset N`, `magic …`, `mask …`. */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry {
  const lines = text.split("\n").map((l) => l.trim());
  const after = (prefix: string) => {
    const line = lines.find((l) => l.startsWith(prefix));
    return line === undefined ? null : line.slice(prefix.length).trim();
  };
  return {
    name,
    enabled: lines[0] === "enabled",
    interpreter: after("interpreter ") ?? "",
    flags: after("flags:") ?? "",
    offset: Number(after("offset ") ?? "0"),
    magic: after("magic "),
    mask: after("mask "),
  };
}

function bytesOf(hex: string | null): number[] {
  if (!hex) return [];
  return (hex.match(/../g) ?? []).map((b) => Number.parseInt(b, 16));
}

/**
 * Whether the entry matches ELF executables of this CPU: its magic (under its mask) at offset 0
 * says ELF, the class, the byte order and e_machine (bytes 18–19).
 */
export function entryRuns(entry: BinfmtEntry, cpu: EmulatedCpu): boolean {
  if (entry.offset !== 0) return false;
  const magic = bytesOf(entry.magic);
  const mask = bytesOf(entry.mask);
  if (magic.length < 20) return false;
  const machine = cpu.littleEndian
    ? [cpu.elfMachine & 0xff, cpu.elfMachine >> 8]
    : [cpu.elfMachine >> 8, cpu.elfMachine & 0xff];
  const wanted: [number, number][] = [
    [0, 0x7f],
    [1, 0x45],
    [2, 0x4c],
    [3, 0x46],
    [4, cpu.elfClass],
    [5, cpu.littleEndian ? 1 : 2],
    [18, machine[0]!],
    [19, machine[1]!],
  ];
  return wanted.every(([i, value]) => {
    const m = mask[i] ?? 0xff;
    return (magic[i]! & m) === (value & m);
  });
}

/** The entry that runs this CPU's binaries: an enabled one first, then Debian's name `qemu-<cpu>`. */
export function entryFor(entries: BinfmtEntry[], cpu: EmulatedCpu): BinfmtEntry | null {
  const matching = entries.filter((e) => entryRuns(e, cpu));
  return (
    matching.find((e) => e.enabled && e.name === `qemu-${cpu.qemuCpu}`) ??
    matching.find((e) => e.enabled) ??
    matching[0] ??
    null
  );
}

export function hasFixBinaryFlag(entry: BinfmtEntry): boolean {
  return entry.flags.includes("F");
}
