// `vm start` and `vm stop`: Lima's start/stop for a VM that exists (never `limactl start <missing>`).
import type { LimaInstance } from "../../core/vm/lima.js";
import { CrossnixError } from "../../errors.js";
import { findInstance, type Limactl, limaFailure, openLimactl } from "../../host/vm/limactl.js";
import { requireMac } from "../../host/vm/lima-host.js";
import { readVmRecord } from "../../host/vm/records.js";
import { startInstance, type VmContext } from "./create.js";

export interface VmActionResult {
  name: string;
  /** What happened: "started", "already running", "stopped", "already stopped". */
  action: string;
  sshPort: number | null;
  warnings: string[];
}

/** The instance, or NOT_FOUND: `limactl start <missing>` would quietly create an Ubuntu VM (docs/lima.md#start). */
export async function existingInstance(lima: Limactl, name: string): Promise<LimaInstance> {
  const instance = await findInstance(lima, name);
  if (!instance) {
    throw new CrossnixError("NOT_FOUND", `there is no Lima VM named '${name}'`, {
      hint: `crossnix vm create ${name}`,
      exitCode: 2,
      nothingWritten: true,
    });
  }
  return instance;
}

export async function startVm(ctx: VmContext, name: string): Promise<VmActionResult> {
  requireMac(ctx.host);
  const lima = await openLimactl(ctx.host);
  const instance = await existingInstance(lima, name);
  const { record } = await readVmRecord(ctx.host, name);
  const warnings = portWarnings(record?.sshPort ?? null, instance.sshLocalPort, name);
  const port = instance.sshLocalPort ?? record?.sshPort ?? null;
  if (instance.status === "Broken") {
    throw new CrossnixError("CHECK_FAILED", `Lima reports '${name}' as Broken`, {
      hint: `limactl list ${name} says why; crossnix vm delete ${name} && crossnix vm create ${name} makes it again`,
    });
  }
  if (instance.status === "Running") return { name, action: "already running", sshPort: port, warnings };
  if (ctx.options.dryRun) return { name, action: "would start", sshPort: port, warnings };
  await startInstance(ctx, lima, name, port ?? 0);
  return { name, action: "started", sshPort: port, warnings };
}

export async function stopVm(ctx: VmContext, name: string): Promise<VmActionResult> {
  requireMac(ctx.host);
  const lima = await openLimactl(ctx.host);
  const instance = await existingInstance(lima, name);
  if (instance.status !== "Running")
    return { name, action: "already stopped", sshPort: instance.sshLocalPort, warnings: [] };
  if (ctx.options.dryRun) return { name, action: "would stop", sshPort: instance.sshLocalPort, warnings: [] };
  ctx.progress(`Stopping '${name}'…`);
  const stopped = await lima.run(["limactl", "--tty=false", "stop", name], { timeoutMs: 5 * 60_000 });
  if (stopped.exitCode !== 0) throw limaFailure(`limactl stop ${name}`, stopped);
  return { name, action: "stopped", sshPort: instance.sshLocalPort, warnings: [] };
}

/** The port the builder entry uses must be the one Lima forwards, or Nix connects to nothing (or to another VM). */
export function portWarnings(recorded: number | null, lima: number | null, name: string): string[] {
  if (recorded === null || lima === null || lima === 0 || recorded === lima) return [];
  return [
    `Lima forwards '${name}' on port ${lima}, but its builder entry uses ${recorded}: run crossnix vm delete ${name} && crossnix vm create ${name}`,
  ];
}
