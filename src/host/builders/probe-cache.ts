// Stores which builders answered recently, for `crossnix build` (per user, in the temp directory).
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BuilderHealth } from "../../core/build/coverage.js";

/**
 * Where `crossnix build` remembers which builders answered, and when (per user, in the temp
 * directory). What is kept and for how long is the use case's decision (app/build.ts); this file
 * only stores records.
 */
export interface ProbeRecord {
  /** When it was learned, in ms since the epoch. */
  at: number;
  health: BuilderHealth;
}

function cachePath(): string {
  return path.join(os.tmpdir(), `crossnix-${process.getuid?.() ?? "user"}`, "probe-cache.json");
}

/** Every stored record ({} when there is no cache, or it cannot be read). */
export async function readProbeCache(): Promise<Map<string, ProbeRecord>> {
  try {
    const parsed = JSON.parse(await readFile(cachePath(), "utf8")) as Record<string, ProbeRecord>;
    return new Map(Object.entries(parsed));
  } catch {
    return new Map();
  }
}

/** Replaces the stored records (atomically: a concurrent reader sees the old or the new file). */
export async function writeProbeCache(records: Map<string, ProbeRecord>): Promise<void> {
  const file = cachePath();
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(records)), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    // A cache that cannot be written only costs a probe next time.
  }
}
