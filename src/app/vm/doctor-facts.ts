// What doctor learns about crossnix's VMs: the record, the pinned port, and Lima's view when it can ask.
import type { VmDoctorFacts } from "../../core/doctor/vm-emulation.js";
import type { Host } from "../../host/system/host.js";
import { listInstances, openLimactl } from "../../host/vm/limactl.js";
import { sshAnswers } from "../../host/vm/lima-host.js";
import { readVmRecords } from "../../host/vm/records.js";

export async function gatherVmFacts(host: Host): Promise<VmDoctorFacts[]> {
  const records = await readVmRecords(host);
  if (records.length === 0) return [];
  // doctor runs as root (sudo), which Lima refuses: then only the port is checked.
  const instances = await openLimactl(host)
    .then(listInstances)
    .catch(() => null);
  const facts: VmDoctorFacts[] = [];
  for (const r of records) {
    const instance = instances?.find((i) => i.name === r.name) ?? null;
    facts.push({
      name: r.name,
      builderName: r.builderName,
      sshPort: r.sshPort,
      sshAnswers: await sshAnswers(r.sshPort),
      limaStatus: instance?.status ?? null,
      limaPort: instance?.sshLocalPort ?? null,
      missing: instances !== null && instance === null,
    });
  }
  return facts;
}
