import type { PlanInputs } from "../../core/builder-plan.js";
import type { ConfigState } from "../../host/config-state.js";
import type { Host } from "../../host/host.js";
import { SYSTEM_PATHS } from "../../host/paths.js";
import { daemonReloadCommand } from "./shared.js";

export async function planInputs(host: Host, state: ConfigState): Promise<PlanInputs> {
  return {
    machines: state.machines,
    settings: state.settings,
    sshAliases: state.sshAliases,
    knownHosts: { path: SYSTEM_PATHS.knownHosts, text: await host.readText(SYSTEM_PATHS.knownHosts) },
    effectiveBuilders: state.effectiveBuilders,
    effectiveUseSubstitutes: state.effectiveUseSubstitutes,
    readOnlyReason: state.info.readOnlyReason,
    flavor: state.info.flavor,
    daemonReload: await daemonReloadCommand(host, state),
  };
}
