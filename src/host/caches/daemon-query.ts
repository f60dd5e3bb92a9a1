// Asks the Nix daemon itself about store paths: which are valid here, and what it would substitute.
import { existsSync } from "node:fs";
import { parseDryRun } from "../../core/build/nix-output.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";

/** Through the daemon even for root, who would otherwise open the store (and read nix.conf) itself. */
function daemonEnv(host: Host): NodeJS.ProcessEnv {
  return { ...host.env, NIX_REMOTE: "daemon" };
}

/** The paths among `paths` that are not valid in the store (`nix-store --check-validity --print-invalid`). */
export async function invalidPaths(host: Host, paths: string[]): Promise<Set<string> | null> {
  // A path missing from /nix/store is not valid; only those on disk need the daemon's word (one
  // round trip each), which keeps a closure nothing of which is built here from costing thousands.
  // Synchronous: thousands of access(2) calls cost less than as many thread-pool round trips.
  const onDisk = paths.map((p) => existsSync(p));
  const present = paths.filter((_, i) => onDisk[i]);
  const invalid = new Set(paths.filter((_, i) => !onDisk[i]));
  if (present.length === 0) return invalid;
  const run = await host.exec(["nix-store", "--check-validity", "--print-invalid", "--", ...present], {
    env: daemonEnv(host),
    timeoutMs: 60_000,
  });
  if (!succeeded(run)) return null;
  for (const p of run.stdout.split("\n").filter(Boolean)) invalid.add(p);
  return invalid;
}

/**
 * `nix-store --realise --dry-run <path>` through the daemon: the daemon queries its substituters'
 * narinfos (queryMissing) and says what it would fetch. True when it would fetch `path`.
 */
export async function daemonWouldFetch(
  host: Host,
  path: string,
  timeoutMs: number,
): Promise<{ fetched: boolean; stderr: string }> {
  const run = await host.exec(["nix-store", "--realise", "--dry-run", "--", path], {
    env: daemonEnv(host),
    timeoutMs,
  });
  const fetched = parseDryRun(run.stderr).toFetch.includes(path);
  return { fetched, stderr: run.stderr };
}

/** Store paths in the closures of Nix itself and the default profile: likely to be in a public cache. */
export async function localCandidatePaths(host: Host, limit = 400): Promise<string[]> {
  const roots: string[] = [];
  const which = await host.exec(["sh", "-c", 'readlink -f "$(command -v nix)"'], { timeoutMs: 5_000 });
  const nixBin = which.stdout.trim();
  if (nixBin.startsWith("/nix/store/")) roots.push(nixBin.split("/").slice(0, 4).join("/"));
  if (await host.exists("/nix/var/nix/profiles/default")) roots.push("/nix/var/nix/profiles/default");
  if (roots.length === 0) return [];
  const run = await host.exec(["nix-store", "--query", "--requisites", "--", ...roots], { timeoutMs: 30_000 });
  return run.stdout
    .split("\n")
    .filter((p) => p.startsWith("/nix/store/"))
    .slice(0, limit);
}
