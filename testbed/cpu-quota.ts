// Makes a builder slower for real: a CFS CPU quota on its sshd's cgroup, so every SSH session, Nix
// daemon and build it starts afterwards inherits the limit. cgroup v1 `cpu.cfs_quota_us` where the
// cpu controller is mounted there (this machine), cgroup v2 `cpu.max` otherwise.
import * as fs from "node:fs";
import path from "node:path";
import type { Builder } from "./builder.js";

const V1 = "/sys/fs/cgroup/cpu";
const V2 = "/sys/fs/cgroup";
const PERIOD_US = 100_000;

export interface CpuQuota {
  /** The cgroup directory. */
  dir: string;
  /** CPUs the builder may use at most (0.25 = a quarter of one CPU). */
  cpus: number;
  /** Moves the builder's processes back to the root cgroup and removes the group. */
  remove(): void;
}

function hierarchy(): { root: string; version: 1 | 2 } {
  if (fs.existsSync(path.join(V1, "cpu.cfs_quota_us"))) return { root: V1, version: 1 };
  const controllers = fs.existsSync(path.join(V2, "cgroup.controllers"))
    ? fs.readFileSync(path.join(V2, "cgroup.controllers"), "utf8")
    : "";
  if (controllers.split(/\s+/).includes("cpu")) return { root: V2, version: 2 };
  throw new Error("no cgroup cpu controller: neither cgroup v1 cpu.cfs_quota_us nor cgroup v2 cpu.max is available");
}

/** Limits `builder` (its sshd and everything it starts from now on) to `cpus` CPUs. */
export function limitCpu(builder: Builder, cpus: number): CpuQuota {
  if (!(cpus > 0)) throw new Error(`not a CPU amount: ${cpus}`);
  const pid = builder.sshdPid;
  if (pid === undefined) throw new Error(`${builder.name}: sshd is not running`);
  const comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  if (comm !== "sshd") throw new Error(`${builder.name}: pid ${pid} is '${comm}', not sshd`);
  const { root, version } = hierarchy();
  const dir = path.join(root, `crossnix-testbed-${process.pid}-${builder.name}`);
  fs.mkdirSync(dir, { recursive: true });
  const quota = Math.round(cpus * PERIOD_US);
  if (version === 1) {
    fs.writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
    fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(quota));
  } else {
    fs.writeFileSync(path.join(V2, "cgroup.subtree_control"), "+cpu");
    fs.writeFileSync(path.join(dir, "cpu.max"), `${quota} ${PERIOD_US}`);
  }
  const pids = [pid, builder.daemonPid].filter((p): p is number => p !== undefined);
  for (const p of pids) fs.writeFileSync(path.join(dir, "cgroup.procs"), String(p));
  return {
    dir,
    cpus,
    remove() {
      if (!fs.existsSync(dir)) return;
      const left = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
      for (const p of left) {
        try {
          fs.writeFileSync(path.join(root, "cgroup.procs"), p);
        } catch {
          // exited meanwhile
        }
      }
      fs.rmdirSync(dir);
    },
  };
}
