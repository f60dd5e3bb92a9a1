// What `crossnix migrate` does, decided from status alone: the target, what to retire, and for each old
// approach the actions crossnix may take (only on what it can attribute) or the Nix change the person
// makes when a nix-darwin module owns the files (docs/approaches.md#migrate).
import { badInput } from "../../errors.js";
import { checkVmName } from "../vm/lima.js";
import type { ApproachReport, StatusReport } from "./detect.js";
import { type ApproachId, VM_FOOTPRINTS } from "./footprints.js";
import { MODULE_OPTION } from "./native.js";
import type { MergedManualBuilder } from "./manual.js";

export type MigrationTarget =
  | { kind: "native" }
  /** A Lima VM crossnix makes (or already made) under this name. */
  | { kind: "lima"; name: string }
  | { kind: "linux-builder" }
  | { kind: "ssh"; destination: string };

/** The VM name `--to lima` uses, as `crossnix vm create` does without a name. */
export const DEFAULT_VM_NAME = "nixbuilder";

export function parseTarget(value: string): MigrationTarget {
  if (value === "native" || value === "linux-builder") return { kind: value };
  if (value === "lima") return { kind: "lima", name: DEFAULT_VM_NAME };
  if (value.startsWith("lima:")) return { kind: "lima", name: checkVmName(value.slice(5)) };
  if (value.startsWith("ssh:") && value.length > 4) return { kind: "ssh", destination: value.slice(4) };
  throw badInput(
    "--to",
    value,
    "must be native, lima, lima:<vm name>, linux-builder or ssh:<user@host>",
    "e.g. --to ssh:nix@build-box",
  );
}

export function targetLabel(t: MigrationTarget): string {
  if (t.kind === "ssh") return `ssh:${t.destination}`;
  if (t.kind === "lima") return t.name === DEFAULT_VM_NAME ? "lima" : `lima:${t.name}`;
  return t.kind;
}

/** One thing done or said to retire an old approach. */
export type RetireAction =
  /** A builder crossnix registered: `builder remove` (entry, alias, pinned key, dedicated key). */
  | { kind: "remove-builder"; name: string }
  /** Determinate's native builder: builder.state = "disabled". */
  | { kind: "disable-native" }
  /** The guide's lines in a machines file crossnix edits: commented out, kept for reference. */
  | { kind: "comment-lines"; file: string; lines: number[] }
  /** A change in the person's nix-darwin configuration (crossnix never edits store-managed files). */
  | { kind: "nix-change"; snippet: string; why: string }
  /** Something for the person to remove by hand: crossnix names it and leaves it. */
  | { kind: "report"; what: string; where: string }
  /** A crossnix command to run afterwards (another command owns it). */
  | { kind: "command"; command: string; why: string };

export interface Retirement {
  label: string;
  title: string;
  actions: RetireAction[];
}

/**
 * The approaches --from names (a label such as `manual`, `linux-builder`, `ssh:big`, or `manual`
 * matching every manual entry); without --from, every present approach but the target.
 */
export function selectFrom(report: StatusReport, from: string | undefined, target: MigrationTarget): ApproachReport[] {
  const present = report.approaches.filter((a) => a.id !== "emulation" && !(a.id === "native" && a.state === "off"));
  const builderId = targetApproachId(target, report.nix.flavor === "determinate");
  const isTarget = (a: ApproachReport) =>
    (target.kind === "native" && a.id === "native") ||
    (target.kind === "lima" && a.label === `lima:${target.name}`) ||
    a.id === builderId;
  const notTarget = present.filter((a) => !isTarget(a));
  if (from === undefined) return notTarget;
  const chosen = notTarget.filter((a) => a.label === from || a.id === from);
  if (chosen.length === 0) {
    throw badInput(
      "--from",
      from,
      `this machine has no such approach (present: ${present.map((a) => a.label).join(", ") || "none"})`,
      "run crossnix status to see what is here",
    );
  }
  return chosen;
}

/** How to retire one old approach, attributable pieces only. */
export function retirementFor(
  a: ApproachReport,
  context: {
    manual: MergedManualBuilder[];
    profileLines: { file: string; line: number }[];
    machinesFile: string;
  },
): Retirement {
  const actions: RetireAction[] = [];
  const vm = VM_FOOTPRINTS.find((f) => f.id === a.id);
  if (a.id === "native") {
    if (a.managedBy === "determinate-module")
      actions.push({
        kind: "nix-change",
        snippet: `${MODULE_OPTION} = "disabled";`,
        why: "the determinate module writes config.json",
      });
    else actions.push({ kind: "disable-native" });
  } else if (vm) {
    actions.push({
      kind: "nix-change",
      snippet: vm.disableOption,
      why: `${vm.title} is a nix-darwin module: it owns ${vm.sshConfigFile}, its launchd job and its machines line`,
    });
    if (vm.id === "linux-builder")
      actions.push({
        kind: "report",
        what: "the key nix-darwin leaves behind when linux-builder is disabled",
        where: `${vm.key}, ${vm.key}.pub`,
      });
    if (vm.user)
      actions.push({
        kind: "report",
        what: `the workdir and user ${vm.user.name} (removed only while the module is still imported with enable = false; dropping the input leaves them)`,
        where: `${vm.workdir}, user ${vm.user.name} (${vm.user.uid})`,
      });
  } else if (a.id === "ssh") {
    const name = a.label.slice("ssh:".length);
    if (a.managedBy === "crossnix") actions.push({ kind: "remove-builder", name });
    else if (a.footprint.machinesLine)
      actions.push({
        kind: "report",
        what: `machines line for ${name} (not written by crossnix)`,
        where: `${a.footprint.machinesLine.file}:${a.footprint.machinesLine.line}`,
      });
  } else if (a.id === "lima") {
    const name = a.label.slice("lima:".length);
    actions.push({
      kind: "command",
      command: `crossnix vm delete ${name}`,
      why: "removes the VM, its record and its builder entry",
    });
  } else if (a.id === "manual") {
    const destination = a.label.slice("manual:".length);
    const builder = context.manual.find((m) => m.destination === destination);
    const inMachines: number[] = [];
    for (const source of builder?.sources ?? []) {
      if ("variable" in source) {
        const where = context.profileLines.map((p) => `${p.file}:${p.line}`).join(", ");
        actions.push({
          kind: "report",
          what: "NIX_REMOTE_SYSTEMS (crossnix does not edit shell profiles)",
          where: where || "your shell's environment",
        });
      } else if (source.file === context.machinesFile) inMachines.push(source.line);
      else
        actions.push({
          kind: "report",
          what: "a machines file Nix never reads",
          where: `${source.file}:${source.line}`,
        });
    }
    if (inMachines.length) actions.push({ kind: "comment-lines", file: context.machinesFile, lines: inMachines });
  }
  return { label: a.label, title: a.title, actions: dedupeReports(actions) };
}

function dedupeReports(actions: RetireAction[]): RetireAction[] {
  const seen = new Set<string>();
  return actions.filter((a) => {
    const key = JSON.stringify(a);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The Nix a person adds to get a target crossnix cannot set up itself (a nix-darwin module). */
export function targetNixChange(t: MigrationTarget, determinate: boolean): string | null {
  if (t.kind !== "linux-builder") return null;
  return determinate
    ? "determinateNix.nixosVmBasedLinuxBuilder.enable = true;  # nix.linux-builder needs nix.enable, which Determinate turns off"
    : "nix.linux-builder.enable = true;";
}

/** The approach a module target becomes: under Determinate, `linux-builder` is Determinate's own VM builder. */
export function targetApproachId(t: MigrationTarget, determinate: boolean): ApproachId | null {
  if (t.kind !== "linux-builder") return null;
  return determinate ? "determinate-vm-builder" : "linux-builder";
}

/**
 * What the person must know before switching to nixpkgs' builder VM through nix-darwin
 * (docs/approaches.md#migrate-to-linux-builder): the Determinate assertion, the native builder the
 * Determinate module turns off, and the other builder VM on the same port and key.
 */
export function linuxBuilderWarnings(report: StatusReport): string[] {
  const determinate = report.nix.flavor === "determinate";
  const warnings: string[] = [];
  if (determinate) {
    warnings.push(
      'Determinate Nix runs nix-darwin with nix.enable = false, and then nix.linux-builder.enable = true stops darwin-rebuild with "nix.linux-builder.enable requires nix.enable" (nix-darwin#1505): set Determinate\'s own determinateNix.nixosVmBasedLinuxBuilder instead (the same nixpkgs VM).',
    );
    const native = report.approaches.find((a) => a.id === "native");
    if (native && native.state !== "off")
      warnings.push(
        'determinateNix.nixosVmBasedLinuxBuilder also sets builder.state = "disabled": the native builder stops at that darwin-rebuild switch, before the VM builder is proven.',
      );
  }
  const other = report.approaches.find((a) => a.id === (determinate ? "linux-builder" : "determinate-vm-builder"));
  if (other)
    warnings.push(
      `${other.title} runs the same nixpkgs VM on port 31022 with /etc/nix/builder_ed25519: the two cannot run side by side, so turn it off in the same switch.`,
    );
  return warnings;
}

/** darwin-rebuild aborts on hand-written files where a module wants to write (docs/approaches.md#unexpected-files). */
export function unexpectedFilesWarning(paths: string[]): string {
  return `crossnix writes ${paths.join(" and ")} by hand. If you later let nix-darwin or the Determinate module manage them (nix.buildMachines, determinateNix.buildMachines, a linux-builder), darwin-rebuild stops with "error: Unexpected files in /etc, aborting activation": rename them to *.before-nix-darwin first.`;
}

/** Comments out the guide's lines so Nix reads the rest of the file again; every other byte kept. */
export function commentOutLines(text: string, lines: number[]): string {
  const wanted = new Set(lines);
  return text
    .split("\n")
    .map((line, i) => (wanted.has(i + 1) ? `# crossnix migrate (system-first line, replaced): ${line}` : line))
    .join("\n");
}
