// What crossnix records about a local VM it made: one JSON file per VM in /etc/nix/crossnix/vms/.
import path from "node:path";

/** The directory of VM records (under CROSSNIX_ROOT when set). */
export const VM_RECORDS_DIR = "/etc/nix/crossnix/vms";

/**
 * Written by `vm create` (in the same plan that registers the builder) and removed by `vm delete`;
 * `status`, `doctor` and `migrate` read it to know which Lima instances and builders are crossnix's.
 */
export interface VmRecord {
  /** Lima instance name. */
  name: string;
  /** LIMA_HOME the instance lives in (Lima's default is ~/.lima of the user who made it). */
  limaHome: string;
  /** The user who owns the instance (Lima refuses to run as root). */
  owner: string;
  /** The pinned loopback SSH port on 127.0.0.1. */
  sshPort: number;
  /** The machines entry / ssh alias crossnix registered for it. */
  builderName: string;
  systems: string[];
  rosetta: boolean;
  cpus: number;
  memoryGiB: number;
  diskGiB: number;
  autostart: "login" | "boot" | "off";
  createdAt: string;
}

export function vmRecordPath(name: string): string {
  return path.posix.join(VM_RECORDS_DIR, `${name}.json`);
}

export function isVmRecord(value: unknown): value is VmRecord {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["name"] === "string" &&
    typeof v["limaHome"] === "string" &&
    typeof v["sshPort"] === "number" &&
    typeof v["builderName"] === "string" &&
    Array.isArray(v["systems"])
  );
}
