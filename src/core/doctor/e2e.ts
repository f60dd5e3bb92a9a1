// Doctor's end-to-end check: the tiny derivation built on each builder, and how to judge the result.
import { diagnoseNixOutput } from "../diagnosis/index.js";
import type { FleetBuilder } from "../builders/fleet.js";
import { formatEntry } from "../formats/machines/index.js";
import { type Check, check } from "./types.js";

export const E2E_OUTPUT = "crossnix-ok";

const WORD = /^[A-Za-z0-9_.+-]+$/;

/**
 * The smallest derivation that must run on a builder: `/bin/sh` exists on every Linux and macOS
 * builder (Nix's Linux sandbox provides it too), `echo` is a shell builtin, and there are no
 * inputs to copy. The nonce makes a new derivation every time, so nothing can come from a cache;
 * `allowSubstitutes = false` keeps Nix from even asking. Mandatory features of the entry must be
 * required, or Nix never picks the machine (docs/build-hook.md#matching).
 */
export function e2eExpression(system: string, nonce: string, requiredFeatures: string[] = []): string {
  for (const word of [system, nonce, ...requiredFeatures]) {
    if (!WORD.test(word)) throw new Error(`not a plain word: '${word}'`);
  }
  const features = requiredFeatures.length
    ? ` requiredSystemFeatures = [ ${requiredFeatures.map((f) => `"${f}"`).join(" ")} ];`
    : "";
  return `derivation { name = "crossnix-doctor-${nonce}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "echo ${E2E_OUTPUT} > $out" ]; allowSubstitutes = false; preferLocalBuild = false;${features} }`;
}

/** Whether a system and the entry's mandatory features can be put into that expression. */
export function e2eBuildable(b: FleetBuilder, system: string): boolean {
  return [system, ...b.entry.mandatoryFeatures].every((w) => WORD.test(w));
}

/** The entry as a `--builders` value: this builder only, with at least one job slot. */
export function e2eBuildersValue(b: FleetBuilder): string {
  return formatEntry({ ...b.entry, maxJobs: Math.max(1, b.entry.maxJobs ?? 1) });
}

/** The systems to build for: the entry's, or (no systems column) the local system Nix assumes. */
export function e2eSystems(b: FleetBuilder, localSystem: string): string[] {
  return b.entry.systems.length ? b.entry.systems : [localSystem];
}

export interface E2eResult {
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
  stdout: string;
  stderr: string;
  /** Contents of the output path, trimmed; null when there is none. */
  output: string | null;
  timeoutSeconds: number;
}

/** The store URI from "building '…drv' on '<uri>'" (the hook's line, Nix 2.0 → 2.35). */
export function builtOn(stderr: string): string | null {
  const match = /building '[^']+' on '([^']+)'/.exec(stderr);
  return match?.[1] ?? null;
}

function sameStore(a: string, b: string): boolean {
  return a.split("?")[0] === b.split("?")[0];
}

export function e2eCheck(b: FleetBuilder, system: string, r: E2eResult): Check {
  const extra = { builder: b.name, system };
  const title = `Build ${system}`;
  const on = builtOn(r.stderr);
  const seconds = r.seconds.toFixed(1);
  if (r.exitCode === 0 && !r.timedOut) {
    if (on && !sameStore(on, b.uri)) {
      return check(
        "e2e.build",
        "end-to-end",
        "fail",
        title,
        `built on '${on}', not on ${b.uri}: the daemon did not honour --builders`,
        {
          description: "run doctor as root (or as a user in the daemon's trusted-users)",
          command: "sudo crossnix doctor",
        },
        extra,
      );
    }
    if (r.output !== E2E_OUTPUT) {
      return check(
        "e2e.build",
        "end-to-end",
        "fail",
        title,
        `the build succeeded, but its output is '${(r.output ?? "(none)").slice(0, 60)}', not '${E2E_OUTPUT}'`,
        {
          description: "check the builder's Nix installation",
        },
        extra,
      );
    }
    return check(
      "e2e.build",
      "end-to-end",
      "ok",
      title,
      `built on ${on ?? b.uri} in ${seconds} s; output confirmed`,
      undefined,
      extra,
    );
  }
  if (r.timedOut) {
    return check(
      "e2e.build",
      "end-to-end",
      "fail",
      title,
      `no result after ${r.timeoutSeconds} s: Nix has no timeout of its own, so a builder that stops answering hangs builds`,
      {
        description: "check the builder's load and network; add ConnectTimeout to its ssh alias",
      },
      extra,
    );
  }
  const found = diagnoseNixOutput(r.stderr);
  const d = found.find((x) => x.builder && sameStore(x.builder, b.uri)) ?? found[0];
  if (d) {
    const evidence = d.evidence.split("\n")[0]!.slice(0, 200);
    return check(
      "e2e.build",
      "end-to-end",
      "fail",
      title,
      `${d.summary} ("${evidence}")`,
      { description: d.fix },
      extra,
    );
  }
  const tail = r.stderr.trim().split("\n").slice(-3).join(" / ").slice(0, 300);
  return check(
    "e2e.build",
    "end-to-end",
    "fail",
    title,
    `nix-build exited with ${r.exitCode}: ${tail || "no output"}`,
    {
      description: "run the build by hand with -v to see more",
    },
    extra,
  );
}

export function e2eSkip(b: FleetBuilder, system: string, why: string): Check {
  return check("e2e.build", "end-to-end", "skip", `Build ${system}`, why, undefined, { builder: b.name, system });
}

/** What decides whether doctor attempts the end-to-end builds on one builder. */
export interface E2eGate {
  /** Local checks that failed and stop every build before it reaches a builder (nix.installed, …). */
  localBlockers: readonly string[];
  /** This builder's own checks that failed. */
  builderFailures: readonly string[];
  enabled: boolean;
  /** Doctor may pass --builders: it runs as root, Nix is single-user, or the daemon trusts the user. */
  allowed: boolean;
  user: string;
  /** A daemon install whose daemon does not answer. */
  daemonDown: boolean;
}

/** Why the end-to-end builds on a builder are not attempted, or null when they are. First reason wins. */
export function e2eBlocker(g: E2eGate): string | null {
  if (g.localBlockers.length) return `not attempted: ${g.localBlockers.join(", ")} failed`;
  if (g.builderFailures.length) return `not attempted: ${g.builderFailures.join(", ")} failed`;
  if (!g.enabled) return "the builder is disabled";
  if (!g.allowed)
    return `needs root or a trusted user (the daemon ignores --builders from ${g.user}): run sudo crossnix doctor`;
  if (g.daemonDown) return "the Nix daemon does not answer (see nix.daemon)";
  return null;
}
