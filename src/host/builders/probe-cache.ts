import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BuilderHealth } from "../../core/build/coverage.js";

/**
 * A short-lived record of which builders answered, so back-to-back `crossnix build`s do not pay
 * for an SSH round trip to every builder each time. Only answers are remembered (a builder that
 * was down is asked again), keyed by the entry's URI and pinned key so a changed entry is asked
 * afresh; a builder Nix then fails to reach is forgotten.
 */
const TTL_MS = 30_000;

interface CacheFile {
  [key: string]: { at: number; health: BuilderHealth };
}

function cachePath(): string {
  return path.join(os.tmpdir(), `crossnix-${process.getuid?.() ?? "user"}`, "probe-cache.json");
}

export async function readProbeCache(now: number): Promise<Map<string, BuilderHealth>> {
  try {
    const parsed = JSON.parse(await readFile(cachePath(), "utf8")) as CacheFile;
    return new Map(
      Object.entries(parsed)
        .filter(([, v]) => now - v.at < TTL_MS)
        .map(([k, v]) => [k, v.health]),
    );
  } catch {
    return new Map();
  }
}

export async function writeProbeCache(entries: Map<string, BuilderHealth>, now: number): Promise<void> {
  const file = cachePath();
  const data: CacheFile = {};
  for (const [key, health] of entries) if (health.state === "ok") data[key] = { at: now, health };
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    // A cache that cannot be written only costs a probe next time.
  }
}
