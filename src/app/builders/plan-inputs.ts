// What the builder planners read from this machine: the config files and how to restart the daemon.
import type { PlanInputs } from "../../core/builders/plan.js";
import type { ConfigState } from "../../host/state.js";
import type { Host } from "../../host/system/host.js";
import { SYSTEM_PATHS } from "../../host/system/paths.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";

/**
 * Only `add` can change settings, so only it needs to know how to restart the daemon (on Linux
 * without systemd that means scanning /proc): remove, enable and disable skip it.
 */
export async function planInputs(
  host: Host,
  state: ConfigState,
  options: { settingsMayChange: boolean },
): Promise<PlanInputs> {
  return {
    machines: state.machines,
    settings: state.settings,
    sshAliases: state.sshAliases,
    knownHosts: { path: SYSTEM_PATHS.knownHosts, text: await host.readText(SYSTEM_PATHS.knownHosts) },
    effectiveBuilders: state.effectiveBuilders,
    effectiveUseSubstitutes: state.effectiveUseSubstitutes,
    systemLayers: state.systemLayers,
    readOnlyReason: state.info.readOnlyReason,
    flavor: state.info.flavor,
    daemonReload: options.settingsMayChange ? await daemonRestartCommand(host, state.info) : null,
  };
}
