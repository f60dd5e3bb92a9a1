// The list Nix prints with "Failed to find a machine for remote build!" (2.4+): each machine's
// systems and features, read to say which requirement no builder meets.
import { list } from "./lines.js";
import type { Explained } from "./types.js";

export interface MachineRow {
  systems: string[];
  maxJobs: number;
  supported: string[];
  /** undefined: 2.4–2.11 print supported and mandatory features as one list. */
  mandatory: string[] | undefined;
}

export function parseRow(s: string): MachineRow | undefined {
  // 2.12+: ([x86_64-linux, i686-linux], 4, [big-parallel, kvm], [])
  const nu = /^\[(.*?)\],\s*(\d+),\s*\[(.*?)\],\s*\[(.*?)\]$/.exec(s);
  if (nu) return { systems: list(nu[1]!), maxJobs: Number(nu[2]), supported: list(nu[3]!), mandatory: list(nu[4]!) };
  // 2.4–2.11: (x86_64-linux, 24, benchmark, big-parallel, kvm, )
  const parts = s.split(",").map((x) => x.trim());
  const k = parts.findIndex((p) => /^\d+$/.test(p));
  if (k < 1) return undefined;
  return {
    systems: parts.slice(0, k).filter(Boolean),
    maxJobs: Number(parts[k]),
    supported: parts.slice(k + 1).filter(Boolean),
    mandatory: undefined,
  };
}

export function analyseMachines(
  system: string,
  features: string[],
  rows: MachineRow[],
  count: number,
  failedBefore: boolean,
): Explained {
  const feats = features.length ? ` with features {${features.join(", ")}}` : "";
  const base = {
    cause: "no-suitable-machine" as const,
    detail: 3,
  };
  const addCmd = `crossnix builder add <destination> --system ${system}${features.map((f) => ` --feature ${f}`).join("")}`;
  if (count === 0 || rows.length === 0) {
    return {
      ...base,
      summary: `no builder is configured as the Nix daemon sees it, so nothing can build this ${system} derivation${feats}`,
      fix: `register one ('${addCmd}'), or find out why the daemon sees none ('crossnix doctor --fix': daemon's nix.conf, machines file, daemon restart)`,
    };
  }
  const sysOk = rows.filter((r) => system === "builtin" || r.systems.includes(system));
  if (sysOk.length === 0) {
    const listed = [...new Set(rows.flatMap((r) => r.systems))].join(", ");
    return {
      ...base,
      summary: `no builder lists the system ${system} (the builders offer: ${listed || "nothing"})`,
      fix: `add a ${system} builder ('${addCmd}'), or add ${system} to the systems column of a builder that can run it`,
    };
  }
  const offered = (r: MachineRow) => new Set([...r.supported, ...(r.mandatory ?? [])]);
  const featOk = sysOk.filter((r) => features.every((f) => offered(r).has(f)));
  if (featOk.length === 0) {
    const have = new Set(sysOk.flatMap((r) => [...offered(r)]));
    const missing = features.filter((f) => !have.has(f));
    const shown = missing.length ? missing : features;
    return {
      ...base,
      summary: `the ${system} builder(s) do not offer the feature(s) ${shown.join(", ")} the derivation requires (the features column is empty unless set; the local system-features defaults do not apply)`,
      fix: `if the builder supports them, list them: '${addCmd}', or add ${shown.join(",")} to column 6 of its machines entry`,
    };
  }
  const mandOk = featOk.filter((r) => r.mandatory === undefined || r.mandatory.every((f) => features.includes(f)));
  if (mandOk.length === 0) {
    const mand = [...new Set(featOk.flatMap((r) => r.mandatory ?? []))];
    return {
      ...base,
      summary: `the ${system} builder(s) only take derivations that require ${mand.join(", ")} (mandatory features), which this one does not`,
      fix: "remove those mandatory features from the machines entry (column 7), or add a builder without them",
    };
  }
  const able =
    system === "builtin"
      ? "a builder that could take this builtin derivation"
      : `a builder that offers ${system}${feats}`;
  return {
    ...base,
    summary: failedBefore
      ? `${able} is configured, but it was disabled for this run after failing to connect (see the finding above)`
      : `${able} is configured, but it was disabled for this run after failing to connect (its error is earlier in the output or in the daemon's log)`,
    fix: "fix that builder's connection ('crossnix builder probe' shows why it fails)",
  };
}
