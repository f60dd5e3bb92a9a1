import { type FleetBuilder, fleetFromMachines } from "../core/fleet.js";
import { type MachinesFile, parseMachinesFile } from "../core/machines.js";
import { type NixConf, parseNixConf, validateNixConf } from "../core/nixconf.js";
import { effectiveSetting } from "../core/settings.js";
import { parseSshConfig, type SshConfig } from "../core/ssh-config.js";
import { detectHost, type HostInfo } from "./detect.js";
import type { Host } from "./host.js";
import { loadConfigLayers } from "./nix-config.js";
import { SYSTEM_PATHS } from "./paths.js";

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
  /** Entries of the machines file, crossnix's and others'. */
  fleet: FleetBuilder[];
}

export async function loadConfigState(host: Host, options: { nixVersion?: boolean } = {}): Promise<ConfigState> {
  const info = await detectHost(host, options);
  const machinesText = await host.readText(info.machinesFile);
  const settingsText = await host.readText(info.settingsFile);
  const aliasText = await host.readText(SYSTEM_PATHS.sshAliasFile);
  const settings = parseNixConf(settingsText ?? "", info.settingsFile);
  validateNixConf(settings);
  // The daemon reads only the system configuration (reference §2: user files and NIX_CONFIG are
  // client overrides, and untrusted clients cannot override `builders`).
  const layers = (await loadConfigLayers(host, { user: false })).filter((l) => l.kind === "system-file");
  const builders = effectiveSetting("builders", layers);
  const machines = parseMachinesFile(machinesText ?? "", info.machinesFile);
  return {
    info,
    machines: { path: info.machinesFile, text: machinesText, model: machines },
    settings: { path: info.settingsFile, text: settingsText, model: settings },
    sshAliases: { path: SYSTEM_PATHS.sshAliasFile, text: aliasText, model: parseSshConfig(aliasText ?? "", SYSTEM_PATHS.sshAliasFile) },
    effectiveBuilders: { value: builders.value, source: builders.source },
    effectiveUseSubstitutes: effectiveSetting("builders-use-substitutes", layers).value,
    fleet: fleetFromMachines([{ path: info.machinesFile, model: machines }]),
  };
}
