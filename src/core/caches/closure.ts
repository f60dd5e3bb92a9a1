// The derivation graph `cache check` walks, and its verdicts per path, counted into one summary line.
import type { DerivationFile } from "../nix/derivation-file.js";

export interface DerivationNode {
  drv: string;
  outputs: string[];
  /** Outputs of other derivations this one needs to build. */
  inputOutputs: string[];
  inputSrcs: string[];
  system: string;
  features: string[];
}

/**
 * `nix show-derivation -r` (≤ 2.14) / `nix derivation show -r` JSON: keys are full paths up to
 * 2.32 and base names later, which also wrap the map in `{ derivations: … }` and name outputs by
 * base name.
 */
export function parseDerivationGraph(json: string, storeDir = "/nix/store"): Map<string, DerivationNode> {
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const map = (
    parsed["derivations"] && typeof parsed["derivations"] === "object" ? parsed["derivations"] : parsed
  ) as Record<
    string,
    {
      outputs?: Record<string, { path?: string }>;
      inputDrvs?: Record<string, string[] | { outputs?: string[] }>;
      inputSrcs?: string[];
      inputs?: { drvs?: Record<string, { outputs?: string[] }>; srcs?: string[] };
      system?: string;
      env?: Record<string, string>;
    }
  >;
  const full = (p: string) => (p.startsWith("/") ? p : `${storeDir}/${p}`);
  const outputsOf = new Map<string, Record<string, string>>();
  for (const [key, drv] of Object.entries(map)) {
    const outputs = Object.entries(drv?.outputs ?? {}).flatMap(([n, o]) => (o?.path ? [[n, full(o.path)]] : []));
    outputsOf.set(full(key), Object.fromEntries(outputs));
  }
  const nodes = new Map<string, DerivationNode>();
  for (const [key, drv] of Object.entries(map)) {
    if (!drv || typeof drv !== "object") continue;
    const inputOutputs: string[] = [];
    for (const [input, wanted] of Object.entries(drv.inputDrvs ?? drv.inputs?.drvs ?? {})) {
      const names = Array.isArray(wanted) ? wanted : (wanted.outputs ?? []);
      const outs = outputsOf.get(full(input)) ?? {};
      for (const name of names) if (outs[name]) inputOutputs.push(outs[name]);
    }
    nodes.set(full(key), {
      drv: full(key),
      outputs: Object.values(outputsOf.get(full(key)) ?? {}),
      inputOutputs,
      inputSrcs: (drv.inputSrcs ?? drv.inputs?.srcs ?? []).map(full),
      system: drv.system ?? "unknown",
      features: (drv.env?.["requiredSystemFeatures"] ?? "").split(/\s+/).filter(Boolean),
    });
  }
  return nodes;
}

/** Output path → the derivation that makes it. */
export function outputOwners(nodes: Map<string, DerivationNode>): Map<string, DerivationNode> {
  const owners = new Map<string, DerivationNode>();
  for (const node of nodes.values()) for (const out of node.outputs) owners.set(out, node);
  return owners;
}

export type PathVerdict =
  | { path: string; status: "valid" }
  | {
      path: string;
      status: "cached";
      cache: string;
      signedBy: string;
      downloadSize: number | null;
      narSize: number;
    }
  | {
      path: string;
      status: "build";
      drv: string | null;
      system: string | null;
      where: string;
      /** A cache has it, but no trusted key verifies its signature: Nix refuses it and builds. */
      unverifiedIn: { cache: string; why: string }[];
    };

export interface CheckSummary {
  total: number;
  valid: number;
  cached: number;
  build: number;
  downloadBytes: number;
  narBytes: number;
  /** Derivations to build by where: "aarch64-linux builders" → 24, "locally" → 4. */
  buildsByWhere: Record<string, number>;
  unverified: number;
}

export function summarise(verdicts: readonly PathVerdict[]): CheckSummary {
  const summary: CheckSummary = {
    total: verdicts.length,
    valid: 0,
    cached: 0,
    build: 0,
    downloadBytes: 0,
    narBytes: 0,
    buildsByWhere: {},
    unverified: 0,
  };
  const drvsCounted = new Set<string>();
  for (const v of verdicts) {
    if (v.status === "valid") summary.valid++;
    else if (v.status === "cached") {
      summary.cached++;
      summary.downloadBytes += v.downloadSize ?? v.narSize;
      summary.narBytes += v.narSize;
    } else {
      summary.build++;
      if (v.unverifiedIn.length > 0) summary.unverified++;
      const key = v.drv ?? v.path;
      if (!drvsCounted.has(key)) {
        drvsCounted.add(key);
        summary.buildsByWhere[v.where] = (summary.buildsByWhere[v.where] ?? 0) + 1;
      }
    }
  }
  return summary;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "812 of 840 paths cached, 2.1 GiB to fetch; 28 to build: 24 on aarch64-linux builders, 4 locally" */
export function summaryLine(s: CheckSummary): string {
  const head = `${s.cached} of ${s.total} paths cached, ${formatBytes(s.downloadBytes)} to fetch`;
  const local = s.valid > 0 ? `; ${s.valid} already here` : "";
  const builds = Object.values(s.buildsByWhere).reduce((a, b) => a + b, 0);
  if (builds === 0) return `${head}${local}; nothing to build`;
  const where = Object.entries(s.buildsByWhere)
    .sort((a, b) => b[1] - a[1])
    .map(([w, n]) => `${n} ${w}`)
    .join(", ");
  return `${head}${local}; ${builds} to build: ${where}`;
}

/** The graph of nodes from parsed .drv files (keyed by .drv path); inputs' outputs resolved by name. */
export function derivationNodes(files: Map<string, DerivationFile>): Map<string, DerivationNode> {
  const nodes = new Map<string, DerivationNode>();
  for (const [drv, file] of files) {
    const inputOutputs: string[] = [];
    for (const [input, names] of file.inputDrvs) {
      const outs = files.get(input)?.outputs;
      for (const name of names) {
        const out = outs?.get(name);
        if (out) inputOutputs.push(out);
      }
    }
    nodes.set(drv, {
      drv,
      outputs: [...file.outputs.values()],
      inputOutputs,
      inputSrcs: file.inputSrcs,
      system: file.system,
      features: file.features,
    });
  }
  return nodes;
}
