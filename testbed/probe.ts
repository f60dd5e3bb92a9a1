// The probe derivations in ./nix and helpers to build them and read what they recorded.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecResult } from "./proc.js";
import type { Sandbox, SandboxRunOptions } from "./sandbox.js";

/** testbed/nix */
export const NIX_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "nix");

/** Where scripts/install-test-deps.sh caches things (CROSSNIX_TESTBED_CACHE). */
export const CACHE_DIR = process.env["CROSSNIX_TESTBED_CACHE"] ?? "/var/cache/crossnix-testbed";

/** Directory imported as the aarch64 probe's builder: <BUSYBOX_DIR>/bin/busybox. */
export const BUSYBOX_DIR = path.join(CACHE_DIR, "busybox-arm64");

export type ProbeSystem = "x86_64-linux" | "aarch64-linux";

/** A fresh nonce: a derivation built with it was never built before. */
export function newNonce(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
}

export interface ProbeOptions {
  nonce?: string;
  /** requiredSystemFeatures of the derivation. */
  features?: string[];
  /** Seconds the build sleeps first. */
  sleep?: number;
  /** Derivation name prefix (default "crossnix-probe"). */
  name?: string;
}

/** nix-build arguments (after "nix-build") for the probe of `system`. */
export function probeArgs(system: ProbeSystem, opts: ProbeOptions & { nonce: string }): string[] {
  const args = [path.join(NIX_DIR, `${system}.nix`), "--argstr", "nonce", opts.nonce];
  if (system === "aarch64-linux") args.push("--arg", "busybox", BUSYBOX_DIR);
  if (opts.features) args.push("--arg", "features", `[ ${opts.features.map((f) => JSON.stringify(f)).join(" ")} ]`);
  if (opts.sleep !== undefined) args.push("--arg", "sleep", String(opts.sleep));
  if (opts.name) args.push("--argstr", "name", opts.name);
  return args;
}

/** What a probe output records. */
export interface ProbeOutput {
  system: string;
  /** `uname -m` where it ran (aarch64 under qemu-user). */
  machine: string;
  nonce: string;
  /** Space-separated store paths given as `inputs` ("" when none). */
  inputs: string;
  /** The user the build ran as (the builder's SSH user for single-user builders). */
  user: string;
  uid: string;
  host: string;
}

export function parseProbe(text: string): ProbeOutput {
  const kv = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const get = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`probe output has no ${k}=: ${JSON.stringify(text)}`);
    return v;
  };
  return {
    system: get("system"),
    machine: get("machine"),
    nonce: get("nonce"),
    inputs: kv.get("inputs") ?? "",
    user: get("user"),
    uid: get("uid"),
    host: get("host"),
  };
}

export interface ProbeBuild {
  nonce: string;
  result: ExecResult;
  /** The output path printed by nix-build (undefined if it failed). */
  outPath: string | undefined;
  /** The .drv named in nix-build's messages. */
  drvPath: string | undefined;
  /** The store URI from "building '…' on '<uri>'" (undefined if built locally or failed). */
  builtOn: string | undefined;
  /** Parsed output, read from the local /nix/store. */
  output: ProbeOutput | undefined;
}

/**
 * nix-build the probe inside the sandbox (default as the client user, through the local
 * daemon), with a fresh nonce unless one is given.
 */
export async function buildProbe(
  sandbox: Sandbox,
  system: ProbeSystem,
  opts: ProbeOptions & Omit<SandboxRunOptions, "input"> & { extraArgs?: string[] } = {},
): Promise<ProbeBuild> {
  const nonce = opts.nonce ?? newNonce();
  const argv = ["nix-build", ...probeArgs(system, { ...opts, nonce }), "--no-out-link", ...(opts.extraArgs ?? [])];
  const result = await sandbox.run(argv, {
    user: opts.user ?? sandbox.clientUser,
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    cwd: opts.cwd,
  });
  const outPath =
    result.exitCode === 0
      ? result.stdout
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("/nix/store/"))
          .pop()
      : undefined;
  const drvPath = /\/nix\/store\/[0-9a-z]{32}-[^\s'"]+\.drv/.exec(result.stderr)?.[0];
  const builtOn = /building '[^']+' on '([^']+)'/.exec(result.stderr)?.[1];
  const output = outPath && fs.existsSync(outPath) ? parseProbe(fs.readFileSync(outPath, "utf8")) : undefined;
  return { nonce, result, outPath, drvPath, builtOn, output };
}
