// Reads and renders crossnix's VM records (/etc/nix/crossnix/vms/<name>.json, core/vm/record.ts).
import { isVmRecord, VM_RECORDS_DIR, type VmRecord, vmRecordPath } from "../../core/vm/record.js";
import type { FileChange } from "../../core/plan/plan.js";
import type { Host } from "../system/host.js";

export async function readVmRecord(
  host: Host,
  name: string,
): Promise<{ record: VmRecord | null; text: string | null }> {
  const text = await host.readText(vmRecordPath(name));
  if (text === null) return { record: null, text };
  try {
    const value = JSON.parse(text) as unknown;
    return { record: isVmRecord(value) ? value : null, text };
  } catch {
    return { record: null, text };
  }
}

export async function readVmRecords(host: Host): Promise<VmRecord[]> {
  const out: VmRecord[] = [];
  for (const file of (await host.list(VM_RECORDS_DIR)).filter((f) => f.endsWith(".json")).sort()) {
    const { record } = await readVmRecord(host, file.slice(0, -".json".length));
    if (record) out.push(record);
  }
  return out;
}

/** The plan's change that writes (or, with null, deletes) a VM's record. */
export function vmRecordChange(name: string, before: string | null, record: VmRecord | null): FileChange {
  return {
    path: vmRecordPath(name),
    before,
    after: record ? `${JSON.stringify(record, null, 2)}\n` : null,
    mode: 0o644,
    reason: record ? `crossnix's record of VM '${name}'` : `record of VM '${name}'`,
  };
}
