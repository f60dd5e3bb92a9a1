// Builds need the VM up: find crossnix's VMs whose SSH does not answer, and start them or say how.
import type { Context } from "../../context.js";
import type { VmRecord } from "../../core/vm/record.js";
import { CrossnixError } from "../../errors.js";
import { findInstance, openLimactl } from "../../host/vm/limactl.js";
import { sshAnswers } from "../../host/vm/lima-host.js";
import { readVmRecords } from "../../host/vm/records.js";

export interface DownVm {
  record: VmRecord;
  /** Lima's status when limactl could tell (null: limactl missing, or it refused, e.g. as root). */
  limaStatus: string | null;
  /** Lima has no instance of that name any more. */
  missing: boolean;
}

/** crossnix's VMs whose pinned SSH port does not greet, with what Lima says about each. */
export async function downVms(host: Context["host"]): Promise<DownVm[]> {
  const records = await readVmRecords(host);
  const down: DownVm[] = [];
  for (const record of records) {
    if (await sshAnswers(record.sshPort)) continue;
    let limaStatus: string | null = null;
    let missing = false;
    try {
      const instance = await findInstance(await openLimactl(host), record.name);
      missing = instance === null;
      limaStatus = instance?.status ?? null;
    } catch {
      // Without limactl's view (not installed, run as root) the port still says it is down.
    }
    down.push({ record, limaStatus, missing });
  }
  return down;
}

/** The one command that fixes a down VM. */
export function fixFor(vm: DownVm): string {
  if (vm.missing) return `crossnix vm delete ${vm.record.name}`;
  if (vm.limaStatus === "Broken")
    return `limactl list ${vm.record.name}  # then crossnix vm delete ${vm.record.name} && crossnix vm create ${vm.record.name}`;
  return `crossnix vm start ${vm.record.name}`;
}

/**
 * Before a build: with `start`, start each stopped VM and wait for SSH (never a VM Lima does not
 * have); without it, refuse with the command that fixes it. `CROSSNIX_START_VMS=1` makes start the default.
 */
export async function ensureVmsRunning(
  ctx: Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">,
  options: { start: boolean },
): Promise<string[]> {
  const down = await downVms(ctx.host);
  if (down.length === 0) return [];
  const start = options.start || ctx.host.env["CROSSNIX_START_VMS"] === "1";
  const startable = down.filter((d) => !d.missing && d.limaStatus !== "Broken");
  if (!start || startable.length < down.length) {
    const first = down.find((d) => !start || d.missing || d.limaStatus === "Broken")!;
    const what = first.missing
      ? "no longer exists in Lima"
      : first.limaStatus === "Broken"
        ? "is Broken"
        : "is not running";
    throw new CrossnixError(
      "CHECK_FAILED",
      `the VM '${first.record.name}' (builder '${first.record.builderName}') ${what}`,
      {
        hint:
          start || first.missing || first.limaStatus === "Broken"
            ? fixFor(first)
            : `${fixFor(first)}   (or: crossnix build --start-vms)`,
        detail: {
          vms: down.map((d) => ({ name: d.record.name, lima: d.limaStatus, missing: d.missing, fix: fixFor(d) })),
        },
        nothingWritten: true,
      },
    );
  }
  // Starting a VM pulls in the plan runner and Lima's whole lifecycle: loaded only when a VM is down,
  // so the usual build (no VM, or every VM up) does not pay for it at start-up.
  const { startVm } = await import("./lifecycle.js");
  const started: string[] = [];
  for (const vm of startable) {
    await startVm(ctx, vm.record.name);
    started.push(vm.record.name);
  }
  return started;
}
