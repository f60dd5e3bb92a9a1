// Validated options of `ci github`: installer, cache, flake attribute and systems.
import { badInput } from "../../errors.js";
import { EMULATED_SYSTEMS, NATIVE_RUNNERS, SYSTEM_PATTERN, sortSystems } from "./facts.js";

export type Installer = "determinate" | "upstream";
export type Cache =
  | { kind: "none" }
  | { kind: "magic-nix-cache" }
  | { kind: "flakehub" }
  | { kind: "cachix"; name: string };
export type FlakeAttr = "packages" | "checks";

export const INSTALLERS: readonly Installer[] = ["determinate", "upstream"];
export const CACHE_KINDS = ["none", "magic-nix-cache", "flakehub", "cachix:<name>"] as const;
export const FLAKE_ATTRS: readonly FlakeAttr[] = ["packages", "checks"];

/** Everything the generated workflow depends on; the same value always gives the same bytes. */
export interface GithubWorkflowSpec {
  /** Validated and in canonical order. */
  systems: string[];
  installer: Installer;
  cache: Cache;
  attr: FlakeAttr;
  emulate: boolean;
}

export function parseInstaller(value: unknown): Installer {
  const v = value ?? "determinate";
  if (typeof v === "string" && (INSTALLERS as readonly string[]).includes(v)) return v as Installer;
  throw badInput("--installer", v, `expected one of ${INSTALLERS.join(", ")}`);
}

export function parseFlakeAttr(value: unknown): FlakeAttr {
  const v = value ?? "packages";
  if (typeof v === "string" && (FLAKE_ATTRS as readonly string[]).includes(v)) return v as FlakeAttr;
  throw badInput("--attr", v, `expected one of ${FLAKE_ATTRS.join(", ")}`);
}

/** Cachix cache names: lowercase letters, digits and dashes. */
const CACHIX_NAME = /^[a-z0-9][a-z0-9-]*$/;

export function parseCache(value: unknown): Cache {
  const v = value ?? "magic-nix-cache";
  if (v === "none" || v === "magic-nix-cache" || v === "flakehub") return { kind: v };
  if (typeof v === "string" && v.startsWith("cachix:")) {
    const name = v.slice("cachix:".length);
    if (CACHIX_NAME.test(name)) return { kind: "cachix", name };
    throw badInput("--cache", v, "a Cachix cache name is lowercase letters, digits and dashes, e.g. cachix:my-cache");
  }
  throw badInput("--cache", v, `expected one of ${CACHE_KINDS.join(", ")}`);
}

export function cacheLabel(cache: Cache): string {
  return cache.kind === "cachix" ? `cachix:${cache.name}` : cache.kind;
}

/** Splits `--systems a,b c` (commas and/or spaces) and checks each is a Nix system double. */
export function parseSystemList(value: string, field = "--systems"): string[] {
  const items = value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0)
    throw badInput(field, value, "expected a comma-separated list of Nix systems, e.g. x86_64-linux,aarch64-linux");
  for (const item of items) {
    if (!SYSTEM_PATTERN.test(item)) {
      throw badInput(field, item, "not a Nix system (expected <cpu>-<os>, e.g. aarch64-linux or aarch64-darwin)");
    }
  }
  return sortSystems(items);
}

/** Whether crossnix can build `system` on GitHub-hosted runners, natively or (with --emulate) under QEMU. */
export function buildable(system: string, emulate: boolean): boolean {
  return system in NATIVE_RUNNERS || (emulate && system in EMULATED_SYSTEMS);
}

/** Explicit `--systems`: every one must be buildable, else exit 2 naming it. */
export function checkExplicitSystems(systems: string[], emulate: boolean): void {
  for (const system of systems) {
    if (buildable(system, emulate)) continue;
    if (system in EMULATED_SYSTEMS) {
      throw badInput(
        "--systems",
        system,
        "GitHub has no native runner for it",
        "add --emulate to build it under QEMU on ubuntu-24.04",
      );
    }
    const emulatedOnly = Object.keys(EMULATED_SYSTEMS).filter((s) => !(s in NATIVE_RUNNERS));
    const supported = [...Object.keys(NATIVE_RUNNERS), ...emulatedOnly.map((s) => `${s} (--emulate)`)];
    throw badInput("--systems", system, `no GitHub-hosted runner can build it; supported: ${supported.join(", ")}`);
  }
}

/**
 * Systems read from the flake: keep the buildable ones, report the rest (flakes often list
 * `lib.systems.flakeExposed`, which includes systems no hosted runner has).
 */
export function selectFlakeSystems(systems: string[], emulate: boolean): { systems: string[]; skipped: string[] } {
  const sorted = sortSystems(systems.filter((s) => SYSTEM_PATTERN.test(s)));
  return {
    systems: sorted.filter((s) => buildable(s, emulate)),
    skipped: sortSystems(systems.filter((s) => !buildable(s, emulate))),
  };
}

/** Which systems run on their native runner and which under QEMU on the x86_64 Linux runner. */
export function splitBuilds(spec: Pick<GithubWorkflowSpec, "systems" | "emulate">): {
  native: string[];
  emulated: string[];
} {
  const emulated = spec.emulate ? spec.systems.filter((s) => s !== "x86_64-linux" && s in EMULATED_SYSTEMS) : [];
  return { native: spec.systems.filter((s) => !emulated.includes(s)), emulated };
}
