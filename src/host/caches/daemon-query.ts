// Asks the Nix daemon itself about store paths: which are valid here, and what it would substitute.
import { existsSync, lstatSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseDryRun } from "../../core/build/nix-output.js";
import { isStorePath } from "../../core/caches/narinfo.js";
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
 * A client that carries none of this machine's settings to the daemon: an empty NIX_CONF_DIR, HOME
 * and XDG_CONFIG_HOME, no NIX_CONFIG. A trusted client (root) sends the settings it read, and the
 * daemon's per-connection process would use them: answers then show the daemon's own settings only
 * (docs/binary-caches.md#proof). nix-env also makes ~/.nix-defexpr, here inside the empty HOME.
 */
async function withBareClient<T>(host: Host, use: (env: NodeJS.ProcessEnv, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(host.env["TMPDIR"] || os.tmpdir(), "crossnix-daemon-query-"));
  try {
    const env: NodeJS.ProcessEnv = {
      ...host.env,
      NIX_REMOTE: "daemon",
      NIX_CONF_DIR: dir,
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, "config"),
      NIX_PROFILE: path.join(dir, "profile"),
    };
    delete env["NIX_CONFIG"];
    delete env["NIX_USER_CONF_FILES"];
    return await use(env, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
  if (!isStorePath(path)) return { fetched: false, stderr: `not a store path: ${path}` };
  const run = await withBareClient(host, (env) =>
    host.exec(["nix-store", "--realise", "--dry-run", "--", path], { env, timeoutMs }),
  );
  const fetched = parseDryRun(run.stderr).toFetch.includes(path);
  return { fetched, stderr: run.stderr };
}

/**
 * Whether the daemon says it can substitute `path`, even one valid here: the worker op
 * QuerySubstitutablePaths, which only `nix-env -qa --status` sends. The daemon asks every
 * substituter that wants mass queries, without looking at its own store (docs/binary-caches.md#proof).
 * null when nix-env gave no answer.
 */
export async function daemonSubstitutable(
  host: Host,
  storePath: string,
  timeoutMs: number,
): Promise<{ substitutable: boolean | null; stderr: string }> {
  // Only a valid store path reaches the expression (its characters need no escaping in a Nix string).
  if (!isStorePath(storePath)) return { substitutable: null, stderr: `not a store path: ${storePath}` };
  return withBareClient(host, async (env, dir) => {
    const file = path.join(dir, "probe.nix");
    await writeFile(file, `{ probe = { type = "derivation"; name = "crossnix-probe"; outPath = "${storePath}"; }; }\n`);
    const run = await host.exec(["nix-env", "-f", file, "-qa", "--status", "--xml"], { env, timeoutMs });
    const item = /<item [^>]*attrPath="probe"[^>]*>/.exec(run.stdout)?.[0] ?? "";
    const flag = /substitutable="([01])"/.exec(item)?.[1];
    return { substitutable: succeeded(run) && flag !== undefined ? flag === "1" : null, stderr: run.stderr };
  });
}

/** The store's most recently added paths (newest first): what a cache of one's own builds is likely to hold. */
export async function recentStorePaths(limit: number): Promise<string[]> {
  const names = await readdir("/nix/store").catch(() => [] as string[]);
  const candidates = names.filter((n) => !n.endsWith(".drv") && !n.endsWith(".lock") && isStorePath(`/nix/store/${n}`));
  // Synchronous: tens of thousands of lstat(2) calls cost far less than as many thread-pool round trips.
  const times = candidates.map((n) => lstatSync(`/nix/store/${n}`, { throwIfNoEntry: false })?.ctimeMs ?? 0);
  return candidates
    .map((n, i) => ({ path: `/nix/store/${n}`, time: times[i] ?? 0 }))
    .sort((a, b) => b.time - a.time)
    .slice(0, limit)
    .map((c) => c.path);
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
