// Proves emulation works: builds a derivation for the emulated system here, through the daemon.
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { builtOn } from "../../core/doctor/e2e.js";
import { emulationProofExpression, PROBE_OUTPUT, probeElf } from "../../core/emulation/probe-elf.js";
import type { Host } from "../system/host.js";
import { SYSTEM_PATHS } from "../system/paths.js";

export interface EmulationProof {
  system: string;
  ok: boolean;
  /** Why it failed, or where it was built when not here; "" on success. */
  detail: string;
  seconds: number;
}

/**
 * Builds the probe for `system` on this machine only (`--builders ''`, and preferLocalBuild), with
 * a new nonce so nothing comes from a store or cache. null when crossnix has no probe for it.
 */
export async function proveEmulation(
  host: Host,
  system: string,
  timeoutSeconds: number,
): Promise<EmulationProof | null> {
  const elf = probeElf(system);
  if (!elf) return null;
  // World-readable: the daemon's client (this user) imports the file, not the daemon.
  const dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-emulation-"));
  try {
    await chmod(dir, 0o755);
    const probe = path.join(dir, `crossnix-${system}-probe`);
    await writeFile(probe, elf, { mode: 0o755 });
    const nonce = `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
    const argv = [
      "nix-build",
      "--no-out-link",
      "--max-jobs",
      "1",
      "--builders",
      "",
      "--expr",
      emulationProofExpression(system, probe, nonce),
    ];
    const daemon = (await host.exists(SYSTEM_PATHS.nixDaemonSocket)) ? { NIX_REMOTE: "daemon" } : {};
    const run = await host.exec(argv, { timeoutMs: timeoutSeconds * 1000, env: { ...host.env, ...daemon }, cwd: dir });
    const seconds = run.durationMs / 1000;
    const remote = builtOn(run.stderr);
    if (remote) return { system, ok: false, detail: `built on '${remote}', not on this machine`, seconds };
    const outPath = run.stdout.trim().split("\n").at(-1)?.trim() ?? "";
    const output = run.exitCode === 0 ? await readFile(outPath, "utf8").catch(() => "") : "";
    if (output.trim() === PROBE_OUTPUT) return { system, ok: true, detail: "", seconds };
    const why = run.timedOut
      ? `timed out after ${timeoutSeconds}s`
      : (run.stderr.trim().split("\n").filter(Boolean).at(-1) ?? `nix-build exited ${run.exitCode}`);
    return { system, ok: false, detail: why, seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
