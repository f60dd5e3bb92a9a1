import type { Handler } from "../../context.js";
import type { FleetBuilder } from "../../core/fleet.js";
import { loadConfigState } from "../../host/config-state.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

export function builderJson(b: FleetBuilder) {
  return {
    name: b.name,
    uri: b.uri,
    systems: b.entry.systems,
    maxJobs: b.entry.maxJobs ?? 1,
    speedFactor: b.entry.speedFactor ?? 1,
    features: b.entry.supportedFeatures,
    mandatoryFeatures: b.entry.mandatoryFeatures,
    hostKeyFingerprint: b.hostKeyFingerprint,
    enabled: b.enabled,
    managed: b.managed,
    file: b.file,
    line: b.line,
  };
}

const list: Handler = async (ctx) => {
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const style = makeStyle(ctx.options.color);
  const builders = state.fleet.map(builderJson);
  if (builders.length === 0) {
    return { json: { builders }, text: `No builders in ${state.machines.path}. Add one with: crossnix builder add user@host` };
  }
  const rows = state.fleet.map((b) => [
    b.managed ? b.name : style.dim(`${b.name}*`),
    b.enabled ? style.green("enabled") : style.yellow("disabled"),
    b.entry.systems.join(",") || style.dim("(local system)"),
    String(b.entry.maxJobs ?? 1),
    String(b.entry.speedFactor ?? 1),
    b.entry.supportedFeatures.join(",") || "-",
    b.hostKeyFingerprint ?? style.yellow("not pinned"),
    `${b.file}:${b.line}`,
  ]);
  const table = renderTable(["NAME", "STATE", "SYSTEMS", "JOBS", "SPEED", "FEATURES", "HOST KEY", "WHERE"], rows);
  const footnote = state.fleet.some((b) => !b.managed) ? `\n${style.dim("* not written by crossnix; crossnix leaves it alone")}` : "";
  return { json: { builders }, text: table + footnote };
};

export default list;
