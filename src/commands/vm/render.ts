// Text for `vm` results.
import type { CreateVmResult } from "../../app/vm/create.js";
import type { VmActionResult } from "../../app/vm/lifecycle.js";
import type { VmStatus } from "../../app/vm/status.js";
import { describeOutcome } from "../../app/plan-runner.js";
import { renderTable } from "../../ui/table.js";

export function renderCreate(r: CreateVmResult): string {
  if (r.dryRun) return "Dry run: nothing was created.";
  const lines = [
    `VM '${r.name}' (Lima ${r.lima}): ${r.steps.join(", ")}; builder '${r.builderName}' on 127.0.0.1:${r.sshPort}.`,
  ];
  if (r.outcome && !r.outcome.noop) lines.push(describeOutcome(r.outcome));
  for (const b of r.builds) {
    lines.push(
      b.ok
        ? `Built ${b.system} on '${r.builderName}' in ${b.seconds.toFixed(1)} s.`
        : `The ${b.system} build on '${r.builderName}' FAILED: ${b.detail}`,
    );
  }
  return lines.join("\n");
}

export function renderAction(r: VmActionResult): string {
  const where = r.sshPort ? ` (SSH on 127.0.0.1:${r.sshPort})` : "";
  return [
    `VM '${r.name}': ${r.action}${r.action.includes("start") || r.action.includes("running") ? where : ""}.`,
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

export function renderStatuses(list: VmStatus[]): string {
  if (list.length === 0) return "No Lima VMs. Create one with: crossnix vm create";
  const rows = list.map((s) => [
    s.name,
    s.lima?.status ?? "(gone)",
    s.lima ? `${s.lima.cpus ?? "?"} cpu, ${s.lima.memoryGiB ?? "?"} GiB, ${s.lima.diskGiB ?? "?"} GiB` : "",
    s.lima ? (s.lima.rosetta ? "yes" : "no") : "",
    s.lima?.sshPort ? `127.0.0.1:${s.lima.sshPort}` : "",
    s.builder
      ? `${s.builder.name}${s.builder.inMachines ? (s.builder.enabled ? "" : " (disabled)") : " (no entry)"}`
      : "(not crossnix's)",
    s.builder ? (s.builder.sshAnswers ? "answers" : "down") : "",
  ]);
  const warnings = list.flatMap((s) => s.warnings.map((w) => `warning: ${s.name}: ${w}`));
  return [renderTable(["VM", "LIMA", "SIZE", "ROSETTA", "SSH", "BUILDER", "SSH NOW"], rows), ...warnings].join("\n");
}
