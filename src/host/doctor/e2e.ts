// Runs doctor's end-to-end build on one builder through the daemon.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { type E2eResult, e2eBuildersValue, e2eExpression } from "../../core/doctor/e2e.js";
import type { FleetBuilder } from "../../core/builders/fleet.js";
import type { Host } from "../system/host.js";

/**
 * Builds the tiny derivation on exactly one builder: `--builders` names only it and
 * `--max-jobs 0` forbids building here. Through the daemon (NIX_REMOTE=daemon) the build hook
 * runs as the daemon's child, with its environment and root's SSH: what real builds get. The
 * daemon honours `--builders` only from a trusted user (root is),
 * docs/nix-settings.md#client-overrides.
 */
export async function runE2eBuild(
  host: Host,
  b: FleetBuilder,
  system: string,
  options: { timeoutSeconds: number; viaDaemon: boolean },
): Promise<E2eResult> {
  const nonce = `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
  const argv = [
    "nix-build",
    "--no-out-link",
    "--max-jobs",
    "0",
    "--builders",
    e2eBuildersValue(b),
    "--expr",
    e2eExpression(system, nonce, b.entry.mandatoryFeatures),
  ];
  const env = { ...host.env, ...(options.viaDaemon ? { NIX_REMOTE: "daemon" } : {}) };
  const run = await host.exec(argv, { timeoutMs: options.timeoutSeconds * 1000, env, cwd: os.tmpdir() });
  const outPath = run.stdout.trim().split("\n").at(-1)?.trim() ?? "";
  let output: string | null = null;
  if (run.exitCode === 0 && outPath.startsWith("/")) {
    output = (await readFile(outPath, "utf8").catch(() => null))?.trim() ?? null;
  }
  return {
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    seconds: run.durationMs / 1000,
    stdout: run.stdout,
    stderr: run.stderr,
    output,
    timeoutSeconds: options.timeoutSeconds,
  };
}
