// Counts the CPU a process and everything it starts afterwards use: a cgroup v1 cpuacct group
// (`cpuacct.usage`, exact, includes children that already exited), or cgroup v2 `cpu.stat`.
// Used to measure what the local nix-daemon (its per-client daemons, build hooks, ssh) spends.
import * as fs from "node:fs";
import path from "node:path";

const V1 = "/sys/fs/cgroup/cpuacct";
const V2 = "/sys/fs/cgroup";

export interface CpuAccount {
  dir: string;
  /** Moves another process (and what it starts from then on) into the group. */
  add(pid: number): void;
  /** CPU time used by the group's processes since it was created, ms. */
  usageMs(): number;
  /** Moves the processes left back to the root group and removes the group. */
  remove(): void;
}

function hierarchy(): { root: string; version: 1 | 2 } {
  if (fs.existsSync(path.join(V1, "cpuacct.usage"))) return { root: V1, version: 1 };
  if (fs.existsSync(path.join(V2, "cgroup.controllers"))) return { root: V2, version: 2 };
  throw new Error("no cgroup CPU accounting: neither cgroup v1 cpuacct nor cgroup v2 is mounted");
}

export function accountCpu(label: string, pids: number[]): CpuAccount {
  const { root, version } = hierarchy();
  const dir = path.join(root, `crossnix-testbed-${process.pid}-${label}`);
  fs.mkdirSync(dir, { recursive: true });
  const add = (pid: number) => fs.writeFileSync(path.join(dir, "cgroup.procs"), String(pid));
  for (const pid of pids) add(pid);
  return {
    dir,
    add,
    usageMs() {
      if (version === 1) return Number(fs.readFileSync(path.join(dir, "cpuacct.usage"), "utf8")) / 1e6;
      const line = fs
        .readFileSync(path.join(dir, "cpu.stat"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("usage_usec "));
      return Number(line?.split(" ")[1] ?? 0) / 1000;
    },
    remove() {
      if (!fs.existsSync(dir)) return;
      for (const p of fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
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
