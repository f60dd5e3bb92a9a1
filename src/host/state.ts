// Loads and validates the configuration a builder command starts from (nix.conf, machines, ssh alias).
import { type FleetBuilder, fleetFromMachines } from "../core/builders/fleet.js";
import {
  type MachinesDialect,
  type MachinesFile,
  type MachinesRead,
  type MachinesTree,
  machinesDialect,
  parseMachinesFile,
  parseMachinesTolerant,
  readMachinesTree,
} from "../core/formats/machines/index.js";
import { type NixConf, parseNixConf, validateNixConf } from "../core/formats/nix-conf.js";
import { type ConfigLayer, effectiveSetting } from "../core/nix/settings.js";
import { parseSshConfig, type SshConfig } from "../core/formats/ssh-config.js";
import { detectHost, type HostInfo } from "./nix/detect.js";
import type { Host } from "./system/host.js";
import { loadConfigLayers } from "./nix/config-layers.js";
import { SYSTEM_PATHS } from "./system/paths.js";

export interface LoadedFile<T> {
  path: string;
  text: string | null;
  model: T;
}

/** Everything the builder commands read before planning a change, parsed and validated. */
export interface ConfigState {
  info: HostInfo;
  machines: LoadedFile<MachinesFile>;
  settings: LoadedFile<NixConf>;
  sshAliases: LoadedFile<SshConfig>;
  /** `builders` as the daemon sees it (system nix.conf and its includes); null = Nix's default. */
  effectiveBuilders: { value: string | null; source: string | null };
  effectiveUseSubstitutes: string | null;
  /** What the daemon reads: the system nix.conf and the files it includes, in order. */
  systemLayers: ConfigLayer[];
  /** The rules of the installed Nix for machines files (newest when the version is not known). */
  dialect: MachinesDialect;
  /** The machines file and every file its `@file` lines reach, at any depth. */
  machinesTree: MachinesTree;
  /** Entries of the machines file and of the files it includes, crossnix's and others'. */
  fleet: FleetBuilder[];
}

/** host.readText as a MachinesRead: null is "missing", a thrown error is a read error Nix stops on. */
export async function readMachinesPath(host: Host, file: string): Promise<MachinesRead> {
  try {
    const text = await host.readText(file);
    return text === null ? { kind: "missing" } : { kind: "text", text };
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * `tolerant: true` (for commands that only read, like `builder list`) keeps going past lines the
 * installed Nix rejects; otherwise such a line is a PARSE error (exit 2), so crossnix never
 * writes into a machines file the installed Nix would reject (docs/nix-machines-file.md#versions).
 */
export async function loadConfigState(
  host: Host,
  options: { nixVersion?: boolean; tolerant?: boolean } = {},
): Promise<ConfigState> {
  const info = await detectHost(host, options);
  const machinesText = await host.readText(info.machinesFile);
  const settingsText = await host.readText(info.settingsFile);
  const aliasText = await host.readText(SYSTEM_PATHS.sshAliasFile);
  const settings = parseNixConf(settingsText ?? "", info.settingsFile);
  validateNixConf(settings);
  // The daemon reads only the system configuration (docs/nix-settings.md#client-overrides: user files
  // and NIX_CONFIG are client overrides, and untrusted clients cannot override `builders`).
  const layers = (await loadConfigLayers(host, { user: false })).filter((l) => l.kind === "system-file");
  const builders = effectiveSetting("builders", layers);
  const dialect = machinesDialect(info.nix.version?.nix);
  const machines = options.tolerant
    ? parseMachinesTolerant(machinesText ?? "", info.machinesFile, dialect).model
    : parseMachinesFile(machinesText ?? "", info.machinesFile, dialect);
  const machinesTree = await readMachinesTree([info.machinesFile], (file) => readMachinesPath(host, file), dialect);
  const included = machinesTree.files.filter((f) => f.path !== info.machinesFile && f.parsed);
  return {
    info,
    machines: { path: info.machinesFile, text: machinesText, model: machines },
    settings: { path: info.settingsFile, text: settingsText, model: settings },
    sshAliases: {
      path: SYSTEM_PATHS.sshAliasFile,
      text: aliasText,
      model: parseSshConfig(aliasText ?? "", SYSTEM_PATHS.sshAliasFile),
    },
    effectiveBuilders: { value: builders.value, source: builders.source },
    effectiveUseSubstitutes: effectiveSetting("builders-use-substitutes", layers).value,
    systemLayers: layers,
    dialect,
    machinesTree,
    fleet: fleetFromMachines(
      [
        { path: info.machinesFile, model: machines },
        ...included.map((f) => ({ path: f.path, model: f.parsed!.model })),
      ],
      dialect,
    ),
  };
}
