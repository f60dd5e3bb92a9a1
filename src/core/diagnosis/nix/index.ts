/**
 * Why a Nix remote (distributed) build failed, from what `nix build` / `nix-build` printed on
 * stderr: the versioned table of Nix's wordings (patterns.ts), what each cause means (explain.ts,
 * remote-refusals.ts), the scan that finds them (scan.ts) and how findings merge (merge.ts).
 */
import { Scan } from "./scan.js";
import type { NixDiagnosis } from "./types.js";

export { stripAnsi } from "./lines.js";
export type { NixDiagnosis, NixFailureCause } from "./types.js";

/**
 * Decode what Nix printed when a (remote) build failed. Most specific finding first, one per
 * cause and builder (or derivation); [] when nothing is recognised.
 */
export function diagnoseNixOutput(stderr: string): NixDiagnosis[] {
  if (!stderr.trim()) return [];
  return new Scan(stderr).run();
}
