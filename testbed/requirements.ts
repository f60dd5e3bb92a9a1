// Is this machine ready for the test bed? (scripts/install-test-deps.sh makes it so.)
import * as fs from "node:fs";
import * as path from "node:path";
import { emulatedSystem } from "./builder.js";
import { BUSYBOX_DIR } from "./probe.js";

const PROGRAMS = [
  "unshare",
  "nsenter",
  "setpriv",
  "flock",
  "mount",
  "umount",
  "useradd",
  "fallocate",
  "ssh",
  "ssh-keygen",
  "nix-build",
  "nix-store",
];

function onPath(p: string): boolean {
  return (process.env["PATH"] ?? "/usr/bin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((d) => fs.existsSync(path.join(d, p)));
}

/** Everything missing for the test bed, as human sentences; empty when ready. */
export function testbedProblems(): string[] {
  const problems: string[] = [];
  if (process.platform !== "linux") return ["the test bed needs Linux"];
  if (process.getuid?.() !== 0) problems.push("the integration tests must run as root");
  for (const p of PROGRAMS) if (!onPath(p)) problems.push(`${p} is not installed`);
  // sudo: builders can give their user passwordless sudo in their own namespace (service.ts).
  for (const f of ["/usr/sbin/sshd", "/usr/bin/nix-daemon", "/usr/bin/nix", "/usr/bin/sudo", "/etc/sudoers.d"]) {
    if (!fs.existsSync(f)) problems.push(`${f} is missing`);
  }
  if (!fs.existsSync(path.join(BUSYBOX_DIR, "bin/busybox"))) problems.push(`${BUSYBOX_DIR}/bin/busybox is missing`);
  if (!fs.existsSync("/nix/var/nix/db/db.sqlite")) problems.push("the local Nix store is not initialised");
  if (emulatedSystem() === "aarch64-linux") {
    let status = "";
    try {
      status = fs.readFileSync("/proc/sys/fs/binfmt_misc/qemu-aarch64", "utf8");
    } catch {}
    if (!status.startsWith("enabled")) problems.push("binfmt_misc qemu-aarch64 is not enabled");
  }
  return problems;
}

/** Throw a helpful error unless the machine is ready. */
export function assertTestbedReady(): void {
  const p = testbedProblems();
  if (p.length > 0) {
    throw new Error(
      `the integration test bed is not ready:\n- ${p.join("\n- ")}\nRun: sudo scripts/install-test-deps.sh`,
    );
  }
}
