// The machines-file rules of each Nix version range (docs/nix-machines-file.md#versions).
import { compareVersions } from "../../nix/version.js";

/**
 * How one range of Nix versions reads a machines file or a `builders` value. Every rule here is
 * taken from Nix's own parser, version by version: docs/nix-machines-file.md#versions.
 */
export interface MachinesDialect {
  /** First Nix version with these rules ("2.3" stands for everything before 2.4). */
  since: string;
  /** Last version with these rules, or null for the newest. */
  until: string | null;
  /**
   * docs/nix-machines-file.md#splitting: "split-then-comment" (before 2.29) splits on ';' and
   * newlines first and cuts each piece at its own '#', without trimming it; "comment-then-split"
   * (2.29+) cuts the line at '#' first, then splits on ';' and trims each entry.
   */
  splitting: "split-then-comment" | "comment-then-split";
  /** docs/nix-machines-file.md#numbers: how columns #3 (max jobs) and #4 (speed factor) are read. */
  maxJobs: "stoull" | "unsigned-int";
  speedFactor: "stoull" | "unsigned-int" | "float";
  /** docs/nix-machines-file.md#host-key: column #7 is checked as base64 from 2.5. */
  checksHostKey: boolean;
  /** docs/nix-machines-file.md#store-uri: the rule that decides when `ssh://` is put in front. */
  uriRule: "2.3" | "2.4";
  /** docs/nix-machines-file.md#errors: 2.5 brought the "bad machine specification: …" messages. */
  messages: "plain" | "detailed";
}

const DIALECTS: readonly MachinesDialect[] = [
  {
    since: "2.3",
    until: "2.3.18",
    splitting: "split-then-comment",
    maxJobs: "stoull",
    speedFactor: "stoull",
    checksHostKey: false,
    uriRule: "2.3",
    messages: "plain",
  },
  {
    since: "2.4",
    until: "2.4",
    splitting: "split-then-comment",
    maxJobs: "stoull",
    speedFactor: "stoull",
    checksHostKey: false,
    uriRule: "2.4",
    messages: "plain",
  },
  {
    since: "2.5",
    until: "2.19",
    splitting: "split-then-comment",
    maxJobs: "unsigned-int",
    speedFactor: "unsigned-int",
    checksHostKey: true,
    uriRule: "2.4",
    messages: "detailed",
  },
  {
    since: "2.20",
    until: "2.28",
    splitting: "split-then-comment",
    maxJobs: "unsigned-int",
    speedFactor: "float",
    checksHostKey: true,
    uriRule: "2.4",
    messages: "detailed",
  },
  {
    since: "2.29",
    until: null,
    splitting: "comment-then-split",
    maxJobs: "unsigned-int",
    speedFactor: "float",
    checksHostKey: true,
    uriRule: "2.4",
    messages: "detailed",
  },
];

/** Every dialect, oldest first. */
export function allDialects(): readonly MachinesDialect[] {
  return DIALECTS;
}

export const NEWEST_DIALECT: MachinesDialect = DIALECTS[DIALECTS.length - 1]!;

/**
 * The rules of a Nix version (the upstream version, also for Determinate Nix, which reports the
 * upstream release it is built on). Unknown version: the newest rules.
 */
export function machinesDialect(nixVersion: string | null | undefined): MachinesDialect {
  if (!nixVersion) return NEWEST_DIALECT;
  let chosen = DIALECTS[0]!;
  for (const dialect of DIALECTS) if (compareVersions(nixVersion, dialect.since) >= 0) chosen = dialect;
  return chosen;
}

/** "Nix 2.5–2.19", "Nix 2.29 and later". */
export function dialectRange(dialect: MachinesDialect): string {
  if (dialect.until === null) return `Nix ${dialect.since} and later`;
  if (dialect.since === "2.3") return "Nix before 2.4";
  if (dialect.since === dialect.until) return `Nix ${dialect.since}`;
  return `Nix ${dialect.since}–${dialect.until}`;
}

/** Dialects newer than `dialect`, oldest first. */
export function newerDialects(dialect: MachinesDialect): MachinesDialect[] {
  return DIALECTS.filter((d) => compareVersions(d.since, dialect.since) > 0);
}

/** True when a speed factor can be written for this Nix as it is (a whole number before 2.20). */
export function speedFactorWritable(value: number, dialect: MachinesDialect): boolean {
  return dialect.speedFactor === "float" || Number.isInteger(value);
}

/** The first version that reads fractional speed factors (docs/nix-machines-file.md#speed-factor). */
export const FRACTIONAL_SPEED_SINCE = "2.20";

/** The whole number Nix before 2.20 would need instead of a fractional speed factor: at least 1. */
export function nearestWholeSpeedFactor(value: number): number {
  return Math.max(1, Math.round(value));
}

/**
 * Why `value` must not be written for the Nix `version` (read by `dialect`), with the nearest
 * value that may; null when it may be written as it is.
 */
export function speedFactorRefusal(
  value: number,
  dialect: MachinesDialect,
  version: string | null,
): { nearest: number; why: string } | null {
  if (speedFactorWritable(value, dialect)) return null;
  const nearest = nearestWholeSpeedFactor(value);
  const effect =
    dialect.speedFactor === "stoull"
      ? `would silently read ${value} as ${Math.trunc(value)}`
      : "rejects it, and with it every builder in the file ('bad machine specification')";
  const why = `the installed Nix ${version ?? `(${dialectRange(dialect)})`} takes only a whole number there and ${effect}; fractional speed factors need Nix ${FRACTIONAL_SPEED_SINCE} or later. The nearest valid value is ${nearest}`;
  return { nearest, why };
}
