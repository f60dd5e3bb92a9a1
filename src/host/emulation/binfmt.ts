// Reads binfmt_misc (/proc/sys/fs/binfmt_misc): whether it is mounted and on, and every registered entry.
import path from "node:path";
import { type BinfmtEntry, parseBinfmtEntry } from "../../core/emulation/binfmt.js";
import type { Host } from "../system/host.js";

/** Where the kernel shows binfmt_misc (relocated under CROSSNIX_ROOT like every system path). */
export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

export interface BinfmtState {
  /** The filesystem is mounted: its `status` and `register` files exist. */
  mounted: boolean;
  /** `status` says enabled (binfmt_misc as a whole can be switched off). */
  enabled: boolean;
  entries: BinfmtEntry[];
}

export async function readBinfmt(host: Host): Promise<BinfmtState> {
  const status = await host.readText(path.posix.join(BINFMT_DIR, "status")).catch(() => null);
  if (status === null) return { mounted: false, enabled: false, entries: [] };
  const entries: BinfmtEntry[] = [];
  for (const name of (await host.list(BINFMT_DIR)).sort()) {
    if (name === "status" || name === "register") continue;
    const text = await host.readText(path.posix.join(BINFMT_DIR, name)).catch(() => null);
    if (text !== null) entries.push(parseBinfmtEntry(name, text));
  }
  return { mounted: true, enabled: status.trim() === "enabled", entries };
}

/**
 * The interpreter and, when it is a symlink (Debian: /usr/libexec/qemu-binfmt/aarch64-binfmt-P →
 * ../../bin/qemu-aarch64-static), what it points to: both must be visible in the build sandbox
 * for an interpreter registered without the F flag.
 */
export async function interpreterPaths(host: Host, interpreter: string): Promise<string[]> {
  const target = await host.linkTarget(interpreter);
  if (!target) return [interpreter];
  return [interpreter, path.posix.resolve(path.posix.dirname(interpreter), target)];
}
