// Plans the fixes `doctor --fix` can apply for failed or warned checks.
import { pinInKnownHosts } from "../builders/plan.js";
import type { FleetBuilder } from "../builders/fleet.js";
import { fingerprintSha256 } from "../formats/known-hosts.js";
import {
  addEntry,
  encodeHostKey,
  ensureBuildersIncludes,
  type MachineEntry,
  renderMachinesFile,
} from "../formats/machines/index.js";
import { type NixConf, renderNixConf, setSetting } from "../formats/nix-conf.js";
import { commentOutLines } from "../approaches/migrate.js";
import { emptyPlan, type Plan, type PlanCommand } from "../plan/plan.js";
import { checkRemoteProgram } from "../builders/remote-program.js";
import type { TolerantMachines } from "./machines.js";
import type { AutoFix, Check } from "./types.js";

export interface FixInputs {
  /** The file crossnix writes settings to (detectHost's settingsFile). */
  settings: { path: string; text: string | null; model: NixConf };
  /** crossnix's machines file. */
  machines: { path: string; text: string | null; parsed: TolerantMachines | null };
  /** `builders` as the system files set it; null when they do not (Nix's default applies). */
  systemBuilders: string | null;
  readOnlyReason: string | null;
  flavor: string;
  daemonReload: PlanCommand | null;
  fleet: FleetBuilder[];
  /** crossnix's known_hosts for plain `ssh <alias>`; kept in step with a re-pinned key. */
  knownHosts?: { path: string; text: string | null };
}

export interface FixPlan {
  plan: Plan;
  /** Fixes that could not go into the plan, and why. */
  notDone: string[];
}

/** The auto fixes of failed and warned checks, one per kind and builder. */
export function autoFixes(checks: readonly Check[]): AutoFix[] {
  const seen = new Set<string>();
  const out: AutoFix[] = [];
  for (const c of checks) {
    const auto = c.fix?.auto;
    if (!auto || (c.status !== "fail" && c.status !== "warn")) continue;
    const key = JSON.stringify(auto.kind === "pin-host-key" ? { kind: auto.kind, builder: auto.builder } : auto);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(auto);
  }
  return out;
}

/** The store URI with `remote-program=<program>` (replacing any earlier one); other parameters kept. */
export function withRemoteProgram(uri: string, program: string): string {
  checkRemoteProgram("remote-program", program);
  const q = uri.indexOf("?");
  const base = q === -1 ? uri : uri.slice(0, q);
  const params = (q === -1 ? "" : uri.slice(q + 1))
    .split("&")
    .filter((p) => p !== "" && !p.startsWith("remote-program="));
  return `${base}?${[...params, `remote-program=${program}`].join("&")}`;
}

export function fingerprintOfLine(line: string | null): string {
  if (!line) return "(none)";
  const [type, key] = line.trim().split(/\s+/);
  try {
    return `${type} ${fingerprintSha256(key ?? "")}`;
  } catch {
    return "(invalid key)";
  }
}

function snippetPrefix(flavor: string): string {
  return flavor === "determinate" ? "determinateNix.customSettings" : "nix.settings";
}

/**
 * One plan for every safe fix (DESIGN.md: every mutation is a plan). `pin-host-key` fixes must
 * already be confirmed by a person; the caller passes only those.
 */
export function planDoctorFixes(fixes: readonly AutoFix[], inputs: FixInputs): FixPlan {
  const plan = emptyPlan("Doctor's fixes");
  const notDone: string[] = [];
  let conf = inputs.settings.model;
  const settingNotes: string[] = [];
  let machines = inputs.machines.parsed?.model ?? null;
  let machinesChanged = false;
  let restart = false;
  let knownHostsAfter: string | null = null;
  let guideLinesAfter: string | null = null;

  const setConf = (name: string, value: string, comment: string) => {
    const nixValue = /^(?:true|false|\d+)$/.test(value) ? value : JSON.stringify(value);
    if (inputs.readOnlyReason) settingNotes.push(`${snippetPrefix(inputs.flavor)}.${name} = ${nixValue};`);
    // The comment only once: an earlier run may have left it behind a removed line.
    else conf = setSetting(conf, name, value, renderNixConf(conf).includes(`# ${comment}\n`) ? undefined : comment);
  };
  const editEntry = (name: string, change: (e: MachineEntry) => MachineEntry, what: string) => {
    const b = inputs.fleet.find((x) => x.managed && x.name === name && x.file === inputs.machines.path);
    if (!b)
      return notDone.push(
        `${what}: '${name}' is not an entry crossnix manages in ${inputs.machines.path}; edit it yourself`,
      );
    if (inputs.readOnlyReason) return notDone.push(`${what}: ${inputs.readOnlyReason}`);
    if (!machines || !inputs.machines.parsed?.lossless) {
      return notDone.push(
        `${what}: ${inputs.machines.path} has invalid lines (see config.machines-file); fix them first`,
      );
    }
    machines = addEntry(machines, change(b.entry), name);
    machinesChanged = true;
    return undefined;
  };

  for (const fix of fixes) {
    switch (fix.kind) {
      case "set-setting":
        setConf(fix.name, fix.value, fix.comment);
        break;
      case "builders-include":
        setConf(
          "builders",
          ensureBuildersIncludes(inputs.systemBuilders, inputs.machines.path, inputs.machines.parsed?.model.dialect),
          "crossnix: Nix reads remote builders from the machines file",
        );
        break;
      case "remote-program":
        editEntry(
          fix.builder,
          (e) => ({ ...e, uri: withRemoteProgram(e.uri, fix.program) }),
          `remote-program for '${fix.builder}'`,
        );
        break;
      case "pin-host-key":
        editEntry(fix.builder, (e) => ({ ...e, hostKey: encodeHostKey(fix.served) }), `host key of '${fix.builder}'`);
        if (inputs.knownHosts?.text) {
          knownHostsAfter = pinInKnownHosts(knownHostsAfter ?? inputs.knownHosts.text, fix.builder, fix.served.trim());
        }
        break;
      case "restart-daemon":
        restart = true;
        break;
      case "comment-guide-lines":
        if (inputs.readOnlyReason) notDone.push(`the guide's lines: ${inputs.readOnlyReason}`);
        else if (inputs.machines.text !== null) {
          guideLinesAfter = commentOutLines(inputs.machines.text, fix.lines);
          notDone.push(
            `the guide's lines are commented out, not yet builders: ${fix.destinations.map((d) => `crossnix migrate --from manual --to ssh:${d}`).join("; ")}`,
          );
        }
        break;
    }
  }
  if (guideLinesAfter !== null) {
    plan.files.push({
      path: inputs.machines.path,
      before: inputs.machines.text,
      after: guideLinesAfter,
      reason: "the guide's system-first lines made Nix reject the whole file",
    });
  }

  const confAfter = renderNixConf(conf);
  if (confAfter !== renderNixConf(inputs.settings.model)) {
    plan.files.push({
      path: inputs.settings.path,
      before: inputs.settings.text,
      after: confAfter,
      mode: 0o644,
      reason: "remote build settings",
    });
    restart = true; // the daemon reads nix.conf only at start-up (docs/nix-settings.md#daemon-restart)
  }
  if (machinesChanged && machines) {
    plan.files.push({
      path: inputs.machines.path,
      before: inputs.machines.text,
      after: renderMachinesFile(machines),
      mode: 0o644,
      reason: "machines entries",
    });
  }
  if (knownHostsAfter !== null && inputs.knownHosts && machinesChanged) {
    plan.files.push({
      path: inputs.knownHosts.path,
      before: inputs.knownHosts.text,
      after: knownHostsAfter,
      mode: 0o644,
      reason: "pinned host keys for ssh <alias>",
    });
  }
  if (settingNotes.length) {
    plan.notes.push(
      `${inputs.readOnlyReason}.\nAdd this to your configuration and rebuild:\n\n${settingNotes.join("\n")}`,
    );
  }
  if (restart) {
    if (inputs.daemonReload) plan.commands.push(inputs.daemonReload);
    else plan.notes.push("Restart the Nix daemon so it reads the new settings.");
  }
  return { plan, notDone };
}
