// Follows `@file` includes through machines files as Nix does, reporting cycles and missing files.
import path from "node:path";
import { type MachinesDialect, NEWEST_DIALECT } from "./dialect.js";
import { listIncludes } from "./file.js";
import { parseMachinesTolerant, type TolerantMachines } from "./tolerant.js";

/** What reading one path gave; the reader is the caller's (core does no I/O). */
export type MachinesRead = { kind: "text"; text: string } | { kind: "missing" } | { kind: "error"; message: string };

export interface IncludeSite {
  file: string;
  line: number;
  column: number;
}

export interface MachinesSource {
  path: string;
  /** The `@file` line that made Nix read this file; null for a file named by `builders` (or crossnix's own). */
  includedFrom: IncludeSite | null;
  exists: boolean;
  /** A read error other than "does not exist": Nix stops on it (docs/nix-machines-file.md#includes). */
  readError: string | null;
  parsed: TolerantMachines | null;
}

export interface IncludeProblem {
  kind: "cycle" | "relative";
  at: IncludeSite;
  path: string;
  message: string;
}

export interface MachinesTree {
  /** Every file reached, each once, in the order Nix first reads it (depth first, line order). */
  files: MachinesSource[];
  problems: IncludeProblem[];
}

/**
 * Reads machines files and, at any depth, the `@file` lines inside them, as Nix does in every
 * version (docs/nix-machines-file.md#includes). Nix has no cycle check (it recurses until it
 * crashes); crossnix stops at a cycle and reports it. Nix opens a relative path against its own
 * working directory (the daemon's, usually `/`), so crossnix reports it instead of guessing.
 */
export async function readMachinesTree(
  roots: string[],
  read: (path: string) => Promise<MachinesRead>,
  dialect: MachinesDialect = NEWEST_DIALECT,
): Promise<MachinesTree> {
  const files: MachinesSource[] = [];
  const problems: IncludeProblem[] = [];
  const seen = new Set<string>();

  const visit = async (file: string, includedFrom: IncludeSite | null, stack: string[]): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const result = await read(file);
    const source: MachinesSource = {
      path: file,
      includedFrom,
      exists: result.kind !== "missing",
      readError: result.kind === "error" ? result.message : null,
      parsed: result.kind === "text" ? parseMachinesTolerant(result.text, file, dialect) : null,
    };
    files.push(source);
    if (!source.parsed) return;
    for (const include of listIncludes(source.parsed.model)) {
      const column =
        source.parsed.model.lines[include.line - 1]?.items.find((i) => i.kind === "include" && i.path === include.path)
          ?.column ?? 1;
      const at = { file, line: include.line, column };
      if (!path.posix.isAbsolute(include.path)) {
        const shown = include.path === "" ? "an empty path" : `the relative path '${include.path}'`;
        problems.push({
          kind: "relative",
          at,
          path: include.path,
          message: `${file}:${include.line}: '@${include.path}' names ${shown}; Nix opens it from its own working directory (the daemon's is usually /) and skips it silently if it is not there`,
        });
        continue;
      }
      if (stack.includes(include.path) || include.path === file) {
        const chain = [...stack, file, include.path].join(" → ");
        problems.push({
          kind: "cycle",
          at,
          path: include.path,
          message: `${file}:${include.line}: '@${include.path}' closes an include cycle (${chain}); Nix has no cycle check and recurses until it crashes, so no remote builder works`,
        });
        continue;
      }
      await visit(include.path, at, [...stack, file]);
    }
  };

  for (const root of roots) await visit(root, null, []);
  return { files, problems };
}

/** The paths reachable from `roots` through `@file` lines (roots first), each once. */
export function reachableFiles(
  files: readonly Pick<MachinesSource, "path" | "parsed">[],
  roots: readonly string[],
): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: string[] = [];
  const walk = (file: string) => {
    if (out.includes(file)) return;
    out.push(file);
    const parsed = byPath.get(file)?.parsed;
    if (parsed)
      for (const include of listIncludes(parsed.model)) if (path.posix.isAbsolute(include.path)) walk(include.path);
  };
  for (const root of roots) walk(root);
  return out;
}
