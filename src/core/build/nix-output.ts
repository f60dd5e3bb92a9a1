// Parses the text and JSON Nix prints for `--dry-run` and `derivation show`.
import { stripAnsi } from "../diagnosis/nix/lines.js";
import { requiredFeatures } from "../nix/derivation-file.js";

/**
 * What `nix build --dry-run` says must be built: "this derivation will be built:" or "these N
 * derivations will be built:" followed by indented store paths (same wording 2.4 → 2.35).
 */
export function parseDryRun(stderr: string): { toBuild: string[]; toFetch: string[] } {
  const toBuild: string[] = [];
  const toFetch: string[] = [];
  let section: string[] | null = null;
  for (const raw of stripAnsi(stderr).split("\n")) {
    if (/(?:derivation|derivations) will be built:$/.test(raw.trim())) section = toBuild;
    else if (/(?:path|paths) will be fetched/.test(raw)) section = toFetch;
    else if (section && /^\s+\/\S+/.test(raw)) section.push(raw.trim());
    else if (raw.trim() !== "") section = null;
  }
  return { toBuild, toFetch };
}

export interface DerivationInfo {
  system: string;
  features: string[];
}

/**
 * `nix show-derivation` / `nix derivation show` JSON. Keys are full store paths up to 2.32 and
 * base names in newer releases, which also wrap the map in `{ derivations: … }`.
 */
export function parseShowDerivation(json: string, storeDir = "/nix/store"): Map<string, DerivationInfo> {
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const map = (
    parsed["derivations"] && typeof parsed["derivations"] === "object" ? parsed["derivations"] : parsed
  ) as Record<string, { system?: string; env?: Record<string, string>; structuredAttrs?: Record<string, unknown> }>;
  const out = new Map<string, DerivationInfo>();
  for (const [key, drv] of Object.entries(map)) {
    if (!drv || typeof drv !== "object" || typeof drv.system !== "string") continue;
    const path = key.startsWith("/") ? key : `${storeDir}/${key}`;
    // Newer releases give structured attributes their own key; 2.8 leaves them in `__json`.
    const structured = drv.structuredAttrs?.["requiredSystemFeatures"];
    const features = drv.structuredAttrs
      ? Array.isArray(structured)
        ? structured.map(String)
        : []
      : (requiredFeatures(new Map(Object.entries(drv.env ?? {}))) ?? []);
    out.set(path, { system: drv.system, features });
  }
  return out;
}

/**
 * The derivations a plain (text-log) `nix-build` says it built, and where: "building '<drv>' on
 * '<store>'" for a remote build, "building '<drv>'..." for a local one (same wording 2.4 → 2.35).
 */
export function buildsInLog(stderr: string): { drv: string; store: string | null }[] {
  const out = new Map<string, string | null>();
  for (const m of stripAnsi(stderr).matchAll(/building '(\/[^']+\.drv)'(?: on '([^']+)')?/g)) {
    // A remote build is announced by the hook and again by the client: the one naming a store wins.
    if (!out.has(m[1]!) || m[2]) out.set(m[1]!, m[2] ?? out.get(m[1]!) ?? null);
  }
  return [...out].map(([drv, store]) => ({ drv, store }));
}

/** Derivations a text log says failed: "builder for '<drv>' failed" (to 2.18), "Cannot build '<drv>'" (2.19+). */
export function failedInLog(stderr: string): Set<string> {
  const text = stripAnsi(stderr);
  return new Set([...text.matchAll(/(?:builder for|Cannot build) '(\/[^']+\.drv)'/g)].map((m) => m[1]!));
}
