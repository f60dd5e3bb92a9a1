// The calibration as a plan: machines entries crossnix owns, and build-poll-interval where the daemon reads it.
import { CrossnixError } from "../../errors.js";
import { addEntry, listEntries, type MachinesFile, renderMachinesFile } from "../formats/machines/index.js";
import { appendSetting, type NixConf, renderNixConf, setSetting } from "../formats/nix-conf.js";
import { type ConfigLayer, effectiveSetting } from "../nix/settings.js";
import { emptyPlan, type Plan, type PlanCommand } from "../plan/plan.js";
import type { Calibration } from "./calibrate.js";

export interface CalibrationInputs {
  machines: { path: string; text: string | null; model: MachinesFile };
  settings: { path: string; text: string | null; model: NixConf };
  systemLayers: ConfigLayer[];
  readOnlyReason: string | null;
  daemonReload: PlanCommand | null;
  /** Builders whose `cores` a plan of their own sets (through SSH and sudo there); the rest get a note. */
  coresPlanned?: ReadonlySet<string>;
}

export function planCalibration(inputs: CalibrationInputs, calibration: Calibration): Plan {
  const plan = emptyPlan("Calibrate the fleet from measured throughput");
  let machines = inputs.machines.model;
  const located = listEntries(machines);
  for (const p of calibration.entries) {
    const line = located.find((e) => e.name === p.name && !e.disabled);
    if (!p.managed || !line || inputs.readOnlyReason) {
      plan.notes.push(
        `${p.name}: set speed factor ${p.speedFactor.value} and max-jobs ${p.maxJobs.value} in its entry yourself (${inputs.readOnlyReason ?? "crossnix did not write it"}).`,
      );
      continue;
    }
    machines = addEntry(
      machines,
      { ...line.entry, speedFactor: p.speedFactor.value, maxJobs: p.maxJobs.value },
      p.name,
    );
  }
  const machinesAfter = renderMachinesFile(machines);
  if (machinesAfter !== (inputs.machines.text ?? "")) {
    plan.files.push({
      path: inputs.machines.path,
      before: inputs.machines.text,
      after: machinesAfter,
      reason: "measured speed factors and max-jobs",
    });
  }
  for (const p of calibration.entries) {
    if (p.cores && !inputs.coresPlanned?.has(p.name)) {
      // Nix never sends `cores` to a builder (docs/scheduling.md#cores): it is the builder's own setting.
      plan.notes.push(
        `${p.name}: in the builder's own nix.conf set 'cores = ${p.cores.value}' (${p.cores.why}), then restart its daemon.`,
      );
    }
  }
  const poll = calibration.pollInterval;
  if (poll && inputs.readOnlyReason) {
    plan.notes.push(`Set build-poll-interval = ${poll.value} in your Nix configuration (${inputs.readOnlyReason}).`);
  } else if (poll) {
    const conf = pollIntervalChange(inputs, String(poll.value));
    const after = renderNixConf(conf);
    if (after !== (inputs.settings.text ?? "")) {
      plan.files.push({
        path: inputs.settings.path,
        before: inputs.settings.text,
        after,
        mode: 0o644,
        reason:
          poll.value === 0
            ? "retry waiting builds whenever a build prints or ends"
            : `retry waiting builds every ${poll.value} s`,
      });
      // The daemon reads nix.conf only at start (docs/nix-settings.md#daemon-restart).
      if (inputs.daemonReload) plan.commands.push(inputs.daemonReload);
      else plan.notes.push("Restart the Nix daemon so it reads the new build-poll-interval.");
    }
  }
  return plan;
}

/** The settings file with the value set where nothing read later overrides it (else refused). */
function pollIntervalChange(inputs: CalibrationInputs, value: string): NixConf {
  const name = "build-poll-interval";
  const comment =
    value === "0"
      ? "crossnix bench --calibrate --poll-interval 0: retry builds waiting for a builder whenever a build prints or ends"
      : `crossnix bench --calibrate: retry builds waiting for a builder every ${value} s`;
  const conf = inputs.settings.model;
  const layers = inputs.systemLayers;
  const effectiveWith = (candidate: NixConf) =>
    effectiveSetting(
      name,
      layers.some((l) => l.source === inputs.settings.path)
        ? layers.map((l) => (l.source === inputs.settings.path ? { ...l, conf: candidate } : l))
        : [...layers, { source: inputs.settings.path, kind: "system-file", conf: candidate }],
    );
  const edited = setSetting(conf, name, value, comment);
  if (effectiveWith(edited).value === value) return edited;
  const appended = appendSetting(conf, name, value, comment);
  const result = effectiveWith(appended);
  if (result.value === value) return appended;
  throw new CrossnixError(
    "CHECK_FAILED",
    `the daemon would still not read ${name} = ${value}: it is set again at ${result.source}:${result.line}`,
    { hint: `change it there, or remove that line`, nothingWritten: true },
  );
}
