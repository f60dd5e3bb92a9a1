// Plans `emulate enable|disable`: the systems in extra-platforms and interpreters in extra-sandbox-paths.
import { CrossnixError } from "../../errors.js";
import { getSetting, type NixConf, removeSetting, renderNixConf, setSetting } from "../formats/nix-conf.js";
import { type ConfigLayer, effectiveSetting } from "../nix/settings.js";
import { emptyPlan, type Plan, type PlanCommand } from "../plan/plan.js";
import { defaultExtraPlatforms } from "./systems.js";

export interface EmulationPlanInputs {
  settings: { path: string; text: string | null; model: NixConf };
  /** What the daemon reads (system nix.conf and its includes), to check the change takes effect. */
  systemLayers: ConfigLayer[];
  hostSystem: string;
  daemonReload: PlanCommand | null;
}

export interface EmulationChange {
  /** Systems to add to (enable) or take out of (disable) extra-platforms. */
  systems: string[];
  /** Interpreter paths to add to (enable) or take out of (disable) extra-sandbox-paths. */
  sandboxPaths: string[];
}

const words = (value: string | null | undefined) => (value ?? "").split(/\s+/).filter(Boolean);

/** The systems Nix builds here besides its own, as the daemon reads them (Nix's default when unset). */
export function effectiveExtraPlatforms(layers: ConfigLayer[], hostSystem: string): string[] {
  return words(
    effectiveSetting("extra-platforms", layers, { "extra-platforms": defaultExtraPlatforms(hostSystem).join(" ") })
      .value,
  );
}

/** Whether Nix builds in its sandbox: `sandbox` defaults to true on Linux; `relaxed` is on too. */
export function sandboxOn(layers: ConfigLayer[]): boolean {
  return effectiveSetting("sandbox", layers, { sandbox: "true" }).value !== "false";
}

/** Sets the line, or removes it together with the comment crossnix put above it when nothing is left. */
function withLine(conf: NixConf, name: string, values: string[], comment: string): NixConf {
  if (values.length > 0) return setSetting(conf, name, values.join(" "), comment);
  const marker = `# ${comment}`;
  const lines = conf.lines.filter((l, i) => {
    const next = conf.lines[i + 1];
    const ownComment =
      l.kind === "comment" && l.raw.trimEnd() === marker && next?.kind === "setting" && next.name === name;
    return !ownComment;
  });
  return removeSetting({ ...conf, lines }, name);
}

export function planEmulation(inputs: EmulationPlanInputs, mode: "enable" | "disable", change: EmulationChange): Plan {
  const verb = mode === "enable" ? "Emulate" : "Stop emulating";
  const plan = emptyPlan(`${verb} ${change.systems.join(", ")} on this machine`);
  let conf = inputs.settings.model;
  const layers = inputs.systemLayers;

  const ownPlatforms = getSetting(conf, "extra-platforms");
  const effective = effectiveExtraPlatforms(layers, inputs.hostSystem);
  // A plain `extra-platforms =` line replaces Nix's default (i686-linux on x86_64), so a new line keeps it.
  const base = ownPlatforms
    ? words(ownPlatforms.value)
    : effectiveSetting("extra-platforms", layers).baseIsDefault
      ? defaultExtraPlatforms(inputs.hostSystem)
      : [];
  const alreadyEffective = mode === "enable" && change.systems.every((s) => effective.includes(s));
  if (!alreadyEffective && (ownPlatforms || mode === "enable")) {
    const platforms =
      mode === "enable"
        ? [...base, ...change.systems.filter((s) => !base.includes(s))]
        : base.filter((s) => !change.systems.includes(s));
    conf = withLine(
      conf,
      "extra-platforms",
      platforms,
      "crossnix: systems this machine builds through QEMU user emulation",
    );
  }

  const ownPaths = words(getSetting(conf, "extra-sandbox-paths")?.value);
  const paths =
    mode === "enable"
      ? [...ownPaths, ...change.sandboxPaths.filter((p) => !ownPaths.includes(p))]
      : ownPaths.filter((p) => !change.sandboxPaths.includes(p));
  if (paths.join(" ") !== ownPaths.join(" ")) {
    conf = withLine(conf, "extra-sandbox-paths", paths, "crossnix: QEMU interpreters builds may run in the sandbox");
  }

  const after = renderNixConf(conf);
  if (after === (inputs.settings.text ?? "")) return plan;
  checkTakesEffect(inputs, conf, mode, change.systems);
  plan.files.push({
    path: inputs.settings.path,
    before: inputs.settings.text,
    after,
    mode: 0o644,
    reason: mode === "enable" ? "systems emulated with QEMU" : "systems no longer emulated",
  });
  // The daemon reads nix.conf only at startup (docs/nix-settings.md#daemon-restart).
  if (inputs.daemonReload) plan.commands.push(inputs.daemonReload);
  else plan.notes.push("Restart the Nix daemon so it reads the new settings.");
  return plan;
}

/** Refuses, nothing written, when another file the daemon reads later would undo the change. */
function checkTakesEffect(
  inputs: EmulationPlanInputs,
  conf: NixConf,
  mode: "enable" | "disable",
  systems: string[],
): void {
  const layers = inputs.systemLayers.some((l) => l.source === inputs.settings.path)
    ? inputs.systemLayers.map((l) => (l.source === inputs.settings.path ? { ...l, conf } : l))
    : [...inputs.systemLayers, { source: inputs.settings.path, kind: "system-file" as const, conf }];
  const result = effectiveSetting("extra-platforms", layers, {
    "extra-platforms": defaultExtraPlatforms(inputs.hostSystem).join(" "),
  });
  const now = words(result.value);
  const wrong = systems.filter((s) => (mode === "enable" ? !now.includes(s) : now.includes(s)));
  if (wrong.length === 0) return;
  const where = result.source ? `${result.source}:${result.line}` : "another file";
  throw new CrossnixError(
    "CHECK_FAILED",
    `extra-platforms would still ${mode === "enable" ? "lack" : "list"} ${wrong.join(", ")}: it is set at ${where}`,
    { hint: `edit extra-platforms at ${where}`, nothingWritten: true },
  );
}
