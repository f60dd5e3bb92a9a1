// Runs `nix` with the new CLI enabled, and reads derivations and dry runs through it.
import { parseDryRun, parseShowDerivation, type DerivationInfo } from "../../core/build/nix-output.js";
import { atLeast } from "../../core/nix/version.js";
import { type ExecOptions, type ExecResult, succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";

/**
 * `nix` with the new CLI enabled: upstream Nix still gates `nix build` and flakes behind
 * experimental features (Determinate has stabilised them and accepts the flag),
 * docs/nix-commands.md#experimental-features.
 */
export const NIX = ["nix", "--extra-experimental-features", "nix-command flakes"];

/** The decoded failure, loaded only when Nix failed: the diagnosis modules are not on a build's start path. */
async function nixFailure(what: string, run: ExecResult) {
  return (await import("./nix-failure.js")).nixFailure(what, run);
}

export async function runNix(host: Host, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return host.exec([...NIX, ...args], { timeoutMs: 10 * 60_000, ...options });
}

/** What `nix build` would build and fetch, by evaluating once with --dry-run. */
export async function dryRunPlan(
  host: Host,
  installables: string[],
  nixArgs: string[],
  options: { signal?: AbortSignal } = {},
): Promise<{ toBuild: string[]; toFetch: string[] }> {
  const run = await runNix(host, ["build", "--dry-run", ...installables, ...nixArgs], {
    timeoutMs: 5 * 60_000,
    ...options,
  });
  if (!succeeded(run)) throw await nixFailure("evaluating what to build", run);
  return parseDryRun(run.stderr);
}

/** Derivations that `nix build` would build (not substitute), by evaluating once with --dry-run. */
export async function derivationsToBuild(host: Host, installables: string[], nixArgs: string[]): Promise<string[]> {
  return (await dryRunPlan(host, installables, nixArgs)).toBuild;
}

/** System and required features of each derivation (`nix derivation show`, 2.15+; `show-derivation` before). */
export async function derivationInfo(
  host: Host,
  nixVersion: string | null,
  drvs: string[],
): Promise<Map<string, DerivationInfo>> {
  if (drvs.length === 0) return new Map();
  const verb = nixVersion && atLeast(nixVersion, "2.15") ? ["derivation", "show"] : ["show-derivation"];
  const run = await runNix(host, [...verb, ...drvs], { timeoutMs: 60_000 });
  if (!succeeded(run)) throw await nixFailure("reading the derivations", run);
  return parseShowDerivation(run.stdout);
}
