// `vm status` and `vm list`: Lima's view of each VM joined with its builder entry and whether SSH answers.
import type { LimaInstance } from "../../core/vm/lima.js";
import type { VmRecord } from "../../core/vm/record.js";
import { loadConfigState } from "../../host/state.js";
import { listInstances, openLimactl } from "../../host/vm/limactl.js";
import { requireMac, sshAnswers } from "../../host/vm/lima-host.js";
import { readVmRecords } from "../../host/vm/records.js";
import type { VmContext } from "./create.js";
import { portWarnings } from "./lifecycle.js";

export interface VmStatus {
  name: string;
  /** crossnix made it (it has a record); other Lima instances are listed but not crossnix's. */
  managed: boolean;
  lima: {
    status: string;
    cpus: number | null;
    memoryGiB: number | null;
    diskGiB: number | null;
    rosetta: boolean;
    sshPort: number | null;
  } | null;
  builder: { name: string; inMachines: boolean; enabled: boolean; systems: string[]; sshAnswers: boolean } | null;
  warnings: string[];
}

const gib = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 1024 ** 3));

export async function vmStatuses(ctx: VmContext, names: string[]): Promise<VmStatus[]> {
  requireMac(ctx.host);
  const lima = await openLimactl(ctx.host);
  const instances = await listInstances(lima);
  const records = await readVmRecords(ctx.host);
  const state = await loadConfigState(ctx.host, { nixVersion: false, tolerant: true });
  const all = [...new Set([...records.map((r) => r.name), ...instances.map((i) => i.name)])].sort();
  const chosen = names.length ? names : all;
  const out: VmStatus[] = [];
  for (const name of chosen) {
    const record = records.find((r) => r.name === name) ?? null;
    const instance = instances.find((i) => i.name === name) ?? null;
    out.push(await statusOf(name, record, instance, state.fleet));
  }
  return out;
}

async function statusOf(
  name: string,
  record: VmRecord | null,
  instance: LimaInstance | null,
  fleet: Awaited<ReturnType<typeof loadConfigState>>["fleet"],
): Promise<VmStatus> {
  const entry = record ? fleet.find((b) => b.name === record.builderName) : undefined;
  const port = record?.sshPort ?? instance?.sshLocalPort ?? null;
  const warnings = portWarnings(record?.sshPort ?? null, instance?.sshLocalPort ?? null, name);
  if (record && !instance)
    warnings.push(`Lima has no VM '${name}' any more: crossnix vm delete ${name} removes its builder entry`);
  if (record && !entry) warnings.push(`its builder '${record.builderName}' is not in the machines file`);
  return {
    name,
    managed: record !== null,
    lima: instance
      ? {
          status: instance.status || "Unknown",
          cpus: instance.cpus,
          memoryGiB: gib(instance.memoryBytes),
          diskGiB: gib(instance.diskBytes),
          rosetta: instance.rosetta,
          sshPort: instance.sshLocalPort,
        }
      : null,
    builder: record
      ? {
          name: record.builderName,
          inMachines: entry !== undefined,
          enabled: entry?.enabled ?? false,
          systems: entry?.entry.systems ?? record.systems,
          sshAnswers: port !== null && instance?.status === "Running" ? await sshAnswers(port) : false,
        }
      : null,
    warnings,
  };
}
