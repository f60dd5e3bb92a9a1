// `vm delete`: exactly what `vm create` made: the VM, the machines entry, the ssh alias, the pinned key, autostart, the record.
import { rm } from "node:fs/promises";
import path from "node:path";
import { planRemoveBuilder } from "../../core/builders/plan.js";
import { autostartArgv } from "../../core/vm/lima.js";
import { CrossnixError } from "../../errors.js";
import { loadConfigState } from "../../host/state.js";
import { userStateDir } from "../../host/system/records.js";
import { findInstance, limaFailure, openLimactl } from "../../host/vm/limactl.js";
import { requireMac } from "../../host/vm/lima-host.js";
import { readVmRecord, vmRecordChange } from "../../host/vm/records.js";
import { planInputs } from "../builders/plan-inputs.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import type { VmContext } from "./create.js";

export interface DeleteVmResult {
  name: string;
  outcome: PlanOutcome | null;
  vmDeleted: boolean;
}

export async function deleteVm(ctx: VmContext, name: string): Promise<DeleteVmResult> {
  requireMac(ctx.host);
  const lima = await openLimactl(ctx.host);
  const { record, text } = await readVmRecord(ctx.host, name);
  const marker = path.join(userStateDir(ctx.host), `vm-${name}.creating`);
  const halfMade = await ctx.host.exists(marker);
  const instance = await findInstance(lima, name);
  if (!record && !halfMade) {
    throw new CrossnixError(
      "NOT_FOUND",
      instance ? `crossnix did not make the Lima VM '${name}', so it leaves it alone` : `no VM named '${name}'`,
      { hint: instance ? `limactl delete ${name}` : "crossnix vm list", exitCode: 2, nothingWritten: true },
    );
  }
  // The builder's entry, alias and pinned key, and the record, in one plan; Lima's own key is not crossnix's.
  let outcome: PlanOutcome | null = null;
  if (record) {
    const state = await loadConfigState(ctx.host, { nixVersion: false });
    const plan = planRemoveBuilder(
      await planInputs(ctx.host, state, { settingsMayChange: false }),
      record.builderName,
      [],
    );
    plan.title = `Delete VM '${name}' and its builder '${record.builderName}'`;
    plan.files.push(vmRecordChange(name, text, null));
    plan.notes.push(`Then: limactl delete --force ${name} (the VM and its disk).`);
    outcome = await runPlan(ctx, plan);
    if (!outcome.applied) return { name, outcome, vmDeleted: false };
  } else if (ctx.options.dryRun) {
    ctx.out(`Would delete the half-made Lima VM '${name}'.`);
    return { name, outcome, vmDeleted: false };
  }
  if (instance) {
    if (record && record.autostart !== "off") {
      const off = autostartArgv(lima.version, name, "off");
      if (off) await lima.run(off);
    }
    ctx.progress(`Deleting the Lima VM '${name}'…`);
    const deleted = await lima.run(["limactl", "--tty=false", "delete", "--force", name], { timeoutMs: 5 * 60_000 });
    if (deleted.exitCode !== 0) throw limaFailure(`limactl delete ${name}`, deleted);
  }
  await rm(marker, { force: true });
  return { name, outcome, vmDeleted: instance !== null };
}
