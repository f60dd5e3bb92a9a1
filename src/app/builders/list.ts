// `builder list`: the builders Nix will use, from every machines file, and what in those files Nix rejects.
import type { Context } from "../../context.js";
import type { FleetBuilder } from "../../core/builders/fleet.js";
import { dialectRange } from "../../core/formats/machines/index.js";
import { loadConfigState } from "../../host/state.js";

export interface BuilderListing {
  builders: FleetBuilder[];
  /** The main machines file and the files it includes. */
  files: { path: string; exists: boolean; includedFrom: string | null }[];
  /** Lines the installed Nix rejects or cannot follow, located. */
  problems: string[];
  /** Whose rules read the files: "Nix 2.24.1", or the range the files' dialect allows. */
  rules: string;
  machinesPath: string;
}

export async function listBuilders(ctx: Pick<Context, "host">): Promise<BuilderListing> {
  // The installed Nix decides how the files read (docs/nix-machines-file.md#versions); list only reads, so it goes past bad lines.
  const state = await loadConfigState(ctx.host, { tolerant: true });
  const installed = state.info.nix.version?.nix;
  const errors = state.machinesTree.files.flatMap((f) => [
    ...(f.readError ? [`${f.path}: ${f.readError} (Nix stops on any read error but "not found")`] : []),
    ...(f.parsed?.errors.map((e) => e.message) ?? []),
  ]);
  return {
    builders: state.fleet,
    files: state.machinesTree.files.map((f) => ({
      path: f.path,
      exists: f.exists,
      includedFrom: f.includedFrom ? `${f.includedFrom.file}:${f.includedFrom.line}` : null,
    })),
    problems: [...errors, ...state.machinesTree.problems.map((p) => p.message)],
    rules: installed ? `Nix ${installed}` : dialectRange(state.dialect),
    machinesPath: state.machines.path,
  };
}
