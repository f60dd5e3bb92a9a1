// This machine's CPUs and memory, and whether limactl is on PATH (init's recommendation reads them).
import { access, constants } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { MachineResources } from "../../core/approaches/recommend.js";
import type { Host } from "./host.js";

/** CROSSNIX_CPUS / CROSSNIX_MEMORY_GIB stand in for the real figures (tests, and a Mac described from Linux). */
export async function machineResources(host: Host): Promise<MachineResources> {
  const cpus = Number(host.env["CROSSNIX_CPUS"]) || os.cpus().length;
  const memoryGiB = Number(host.env["CROSSNIX_MEMORY_GIB"]) || Math.round(os.totalmem() / 1024 ** 3);
  const dirs = (host.env["PATH"] ?? "").split(":").filter((d) => d !== "");
  const found = await Promise.all(
    dirs.map((d) =>
      access(path.join(d, "limactl"), constants.X_OK).then(
        () => true,
        () => false,
      ),
    ),
  );
  return { cpus, memoryGiB, lima: found.some(Boolean) };
}
