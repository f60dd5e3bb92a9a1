// Reads which systems a flake defines, by asking Nix.
import { stat } from "node:fs/promises";
import path from "node:path";
import { SYSTEM_PATTERN } from "../../core/ci/facts.js";
import type { FlakeAttr } from "../../core/ci/options.js";
import { CrossnixError } from "../../errors.js";
import { describeFailure, succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { NIX } from "./nix.js";

/** Long enough for Nix to fetch a flake's inputs (nixpkgs) the first time. */
const NIX_EVAL_TIMEOUT_MS = 5 * 60_000;

/**
 * The systems the flake in `dir` (a repository directory, not a system path) defines under `attr`.
 *
 * First `builtins.getFlake` on the directory, which reads the top-level output exactly (needs
 * --impure: the directory is not a locked reference). `nix eval .#packages` is only the fallback:
 * for an installable Nix first tries `packages.<system>.packages` and
 * `legacyPackages.<system>.packages` (seen with Nix 2.8), so it can answer the wrong question.
 * getFlake refuses a flake whose flake.lock is missing or stale ("requires lock file changes");
 * the CLI locks in memory instead (--no-write-lock-file: crossnix writes nothing it did not plan).
 */
export async function flakeSystems(
  host: Host,
  dir: string,
  attr: FlakeAttr,
  log: { progress(message: string): void; debug(message: string): void },
): Promise<string[]> {
  const askForSystems = "pass --systems, e.g. --systems x86_64-linux,aarch64-linux,aarch64-darwin";
  if (!(await stat(path.join(dir, "flake.nix")).catch(() => null))) {
    throw new CrossnixError("USAGE", `no flake.nix in ${dir}, so crossnix cannot read which systems to build`, {
      hint: `run it in the flake's directory, or ${askForSystems}`,
    });
  }
  log.progress(`Reading the systems of ${attr} with nix eval…`);
  const options = { cwd: dir, env: host.env, timeoutMs: NIX_EVAL_TIMEOUT_MS };
  const exact = `builtins.attrNames (builtins.getFlake (toString ./.)).${attr}`;
  let run = await host.exec([...NIX, "eval", "--impure", "--json", "--expr", exact], options);
  if (run.spawnError) {
    throw new CrossnixError(
      "USAGE",
      "Nix is not available here, so crossnix cannot read which systems the flake defines",
      {
        hint: askForSystems,
        detail: { spawnError: run.spawnError },
      },
    );
  }
  let viaInstallable = false;
  if (!succeeded(run) && /requires lock file changes/.test(run.stderr)) {
    log.debug("flake.lock is missing or stale; asking nix eval with an in-memory lock");
    viaInstallable = true;
    run = await host.exec(
      [...NIX, "eval", "--no-write-lock-file", "--json", `.#${attr}`, "--apply", "builtins.attrNames"],
      options,
    );
  }
  if (!succeeded(run)) {
    const missing = new RegExp(`attribute '${attr}' missing|does not provide attribute`).test(run.stderr);
    throw new CrossnixError(
      "NIX",
      missing
        ? `the flake has no '${attr}' output`
        : `nix eval could not read the flake's ${attr}: ${describeFailure(run)}`,
      {
        hint: `${askForSystems}${attr === "packages" ? ", or add multi-system packages (crossnix ci flake-snippet)" : ""}`,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    parsed = null;
  }
  const names = Array.isArray(parsed) && parsed.every((s) => typeof s === "string") ? (parsed as string[]) : null;
  // Through an installable, names that are not systems mean Nix found a look-alike attribute.
  if (names === null || (viaInstallable && !names.every((s) => SYSTEM_PATTERN.test(s)))) {
    throw new CrossnixError("NIX", `nix eval did not give a list of systems for ${attr}: ${run.stdout.slice(0, 200)}`, {
      hint: askForSystems,
    });
  }
  return names;
}
