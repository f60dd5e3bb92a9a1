/** Parsed `nix --version`: upstream prints `nix (Nix) 2.8.0`, Determinate `nix (Determinate Nix 3.11.2) 2.31.1`. */
export interface NixVersion {
  /** The upstream Nix version the build is based on, e.g. "2.31.1". */
  nix: string;
  /** Determinate Nix's own version, e.g. "3.11.2", when it is Determinate Nix. */
  determinate: string | null;
}

export function parseNixVersion(output: string): NixVersion | null {
  const line = output.trim().split("\n")[0] ?? "";
  const determinate = /Determinate Nix (\d+(?:\.\d+)*)\)\s+(\d+\.\d+(?:\.\d+)?\S*)/.exec(line);
  if (determinate) return { nix: determinate[2]!, determinate: determinate[1]! };
  const upstream = /\(Nix\)\s+(\d+\.\d+(?:\.\d+)?\S*)/.exec(line) ?? /^nix(?:-\w+)?\s+\(Nix\)\s+(\S+)/.exec(line);
  if (upstream) return { nix: upstream[1]!, determinate: null };
  const bare = /(\d+\.\d+(?:\.\d+)?)/.exec(line);
  return bare ? { nix: bare[1]!, determinate: null } : null;
}

/** Numeric comparison of dotted versions ("2.8.0" < "2.31"); pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split(/[^0-9.]/)[0]!
      .split(".")
      .map((n) => Number.parseInt(n, 10) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function atLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

export { nixSystemFor } from "./systems.js";
