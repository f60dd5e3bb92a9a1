// Recognises the guide's hand-made builder setup (docs/approaches.md#manual-setup): NIX_REMOTE_SYSTEMS
// values of the form `system=user@host` and machines lines written system first, with features
// separated by spaces. Both are read as what they meant, so migrate can turn them into builders.
import { looksLikeSystem } from "../nix/systems.js";

/** One builder the guide's setup meant: a destination and the systems it was meant to build. */
export interface ManualBuilder {
  /** `user@host` (or `host`), with any `ssh://`/`ssh-ng://` scheme removed. */
  destination: string;
  systems: string[];
  maxJobs: number | null;
  speedFactor: number | null;
  features: string[];
  /** Where it was written, for the removal report: a file and 1-based line, or the variable. */
  source: { file: string; line: number } | { variable: "NIX_REMOTE_SYSTEMS"; value: string };
}

const DESTINATION = /^(?:(?:ssh|ssh-ng):\/\/)?((?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._:[\]-]+)$/;

/** The destination of a URI-ish token (`ssh://user@host`, `user@host`), or null when it is not one. */
function destinationOf(token: string): string | null {
  if (!token.includes("@") && !token.includes("://")) return null;
  return DESTINATION.exec(token)?.[1] ?? null;
}

/**
 * A machines line in the guide's order, `<system> ssh://user@host <maxJobs> <speed> <feature> <feature>…`:
 * Nix reads the system as the URI and fails at column #4 (docs/approaches.md#manual-setup). null
 * for any other line (including correct ones).
 */
export function parseSystemFirstLine(line: string): Omit<ManualBuilder, "source"> | null {
  const tokens = line
    .replace(/#.*$/, "")
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  const [first, second, ...rest] = tokens;
  if (!first || !second) return null;
  const systems = first.split(",");
  if (!systems.every((s) => looksLikeSystem(s) && !s.includes("@"))) return null;
  const destination = destinationOf(second);
  if (destination === null) return null;
  const numbers: number[] = [];
  while (rest.length > 0 && numbers.length < 2 && /^\d+(\.\d+)?$/.test(rest[0]!)) numbers.push(Number(rest.shift()));
  const features = rest.flatMap((t) => t.split(",")).filter((f) => f !== "" && f !== "-");
  return { destination, systems, maxJobs: numbers[0] ?? null, speedFactor: numbers[1] ?? null, features };
}

/** Every system-first line of a machines file, with its line number. */
export function systemFirstLines(
  text: string,
  file: string,
): (ManualBuilder & { source: { file: string; line: number } })[] {
  return text.split("\n").flatMap((line, index) => {
    const parsed = parseSystemFirstLine(line);
    return parsed ? [{ ...parsed, source: { file, line: index + 1 } }] : [];
  });
}

/**
 * The guide's `NIX_REMOTE_SYSTEMS="aarch64-linux=user@host x86_64-linux=user@host"`: Nix reads it as
 * a ':'-list of machines files, so it names none. One builder per destination, its systems merged.
 */
export function parseRemoteSystemsPairs(value: string): ManualBuilder[] {
  const byDestination = new Map<string, string[]>();
  const tokens = value
    .trim()
    .split(/\s+/)
    .flatMap((t) => t.split(/:(?=[A-Za-z0-9_]+-[A-Za-z0-9_]+=)/));
  for (const token of tokens) {
    const eq = token.indexOf("=");
    if (eq <= 0) continue;
    const system = token.slice(0, eq);
    const destination = destinationOf(token.slice(eq + 1));
    if (!looksLikeSystem(system) || destination === null) continue;
    byDestination.set(destination, [...(byDestination.get(destination) ?? []), system]);
  }
  return [...byDestination].map(([destination, systems]) => ({
    destination,
    systems,
    maxJobs: null,
    speedFactor: null,
    features: [],
    source: { variable: "NIX_REMOTE_SYSTEMS", value },
  }));
}

/** Builders with the same destination become one, systems and features merged (the guide lists one line per system). */
export interface MergedManualBuilder extends ManualBuilder {
  /** Every place that named this destination. */
  sources: ManualBuilder["source"][];
}

export function mergeByDestination(builders: ManualBuilder[]): MergedManualBuilder[] {
  const merged = new Map<string, MergedManualBuilder>();
  for (const b of builders) {
    const seen = merged.get(b.destination);
    if (!seen) {
      merged.set(b.destination, { ...b, sources: [b.source] });
      continue;
    }
    seen.systems = [...new Set([...seen.systems, ...b.systems])];
    seen.features = [...new Set([...seen.features, ...b.features])];
    seen.maxJobs ??= b.maxJobs;
    seen.speedFactor ??= b.speedFactor;
    seen.sources.push(b.source);
  }
  return [...merged.values()];
}

/** What doctor says instead of only "column #4 is not a float" for a system-first line. */
export const SWAPPED_COLUMNS =
  "system and URI columns are swapped; features must be comma-separated (the form is 'URI systems key maxJobs speedFactor features')";

/** The right line for a system-first one, for the message. */
export function correctedLine(b: Omit<ManualBuilder, "source">): string {
  return [
    `ssh-ng://${b.destination}`,
    b.systems.join(","),
    "-",
    String(b.maxJobs ?? 1),
    String(b.speedFactor ?? 1),
    b.features.length ? b.features.join(",") : "-",
  ].join(" ");
}

/** A shell profile line that sets NIX_REMOTE_SYSTEMS (sh `export X=`, `X=`, fish `set -x X`). */
export function setsRemoteSystems(line: string): boolean {
  return /^\s*(export\s+|declare\s+-x\s+)?NIX_REMOTE_SYSTEMS=|^\s*set\s+(-\w+\s+)*NIX_REMOTE_SYSTEMS\b/.test(line);
}

/** Shell profiles the guide tells people to add the variable to (checked, never edited). */
export const SHELL_PROFILES = [
  ".zshrc",
  ".zprofile",
  ".zshenv",
  ".bashrc",
  ".bash_profile",
  ".profile",
  ".config/fish/config.fish",
] as const;
