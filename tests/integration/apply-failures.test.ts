// A plan applies wholly or not at all: when a write fails half-way (full disk, read-only file system,
// a file where a directory should be) the files already replaced are put back from their backups,
// and the error names the file and the OS reason, with no stack trace.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyPlan, type Plan } from "../../src/core/plan/plan.js";
import { applyPlan } from "../../src/host/plan/apply.js";
import { createHost } from "../../src/host/system/host.js";
import { addOffline } from "../helpers/offline-add.js";

const isRoot = process.getuid?.() === 0;
const MACHINES_OLD = "ssh-ng://a x86_64-linux - 1 1\n";
let root: string;
const mounts: string[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-fail-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await mkdir(path.join(root, "etc/ssh"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/machines"), MACHINES_OLD);
});
afterEach(async () => {
  for (const m of mounts.splice(0).reverse()) execFileSync("umount", [m]);
  await rm(root, { recursive: true, force: true });
});
afterAll(() => {
  for (const m of mounts.splice(0).reverse()) execFileSync("umount", ["-l", m]);
});

function addPlan(alias: string): Plan {
  const plan = emptyPlan("add b");
  plan.files.push({
    path: "/etc/nix/machines",
    before: MACHINES_OLD,
    after: `${MACHINES_OLD}ssh-ng://b x86_64-linux - 1 1\n`,
    reason: "",
  });
  plan.files.push({ path: "/etc/ssh/ssh_config.d/crossnix.conf", before: null, after: alias, reason: "" });
  return plan;
}

async function expectRolledBack(): Promise<void> {
  expect(await readFile(path.join(root, "etc/nix/machines"), "utf8")).toBe(MACHINES_OLD);
  const all = (await readdir(root, { recursive: true })) as string[];
  expect(all.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  expect(all).not.toContain("etc/nix/crossnix/journal.json");
}

describe("a write that fails half-way through a plan", () => {
  it("a file where a directory should be: machines is put back, the error names the file and the reason", async () => {
    await writeFile(path.join(root, "etc/ssh/ssh_config.d"), "not a directory\n");
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root });
    await expect(applyPlan(host, addPlan("Host b\n"))).rejects.toMatchObject({
      code: "IO",
      exitCode: 1,
      message:
        "cannot write /etc/ssh/ssh_config.d/crossnix.conf: a part of the path is a file, not a directory (ENOTDIR); the files already written were put back (/etc/nix/machines)",
    });
    await expectRolledBack();
  });

  it.skipIf(!isRoot)("a full disk (a tiny tmpfs): rolled back, ENOSPC named", async () => {
    const ssh = path.join(root, "etc/ssh");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "crossnix-test", ssh]);
    mounts.push(ssh);
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root });
    await expect(applyPlan(host, addPlan(`# ${"x".repeat(200_000)}\nHost b\n`))).rejects.toMatchObject({
      code: "IO",
      message: expect.stringMatching(
        /^cannot write \/etc\/ssh\/ssh_config.d\/crossnix.conf: no space left on the device \(ENOSPC\); the files already written were put back/,
      ),
    });
    await expectRolledBack();
  });

  it.skipIf(!isRoot)("a read-only file system (a read-only bind mount): rolled back, EROFS named", async () => {
    const dir = path.join(root, "etc/ssh/ssh_config.d");
    await mkdir(dir);
    execFileSync("mount", ["--bind", "-o", "ro", dir, dir]);
    mounts.push(dir);
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root });
    await expect(applyPlan(host, addPlan("Host b\n"))).rejects.toMatchObject({
      code: "IO",
      message: expect.stringMatching(
        /^cannot write \/etc\/ssh\/ssh_config.d\/crossnix.conf: the file system is read-only \(EROFS\)/,
      ),
    });
    await expectRolledBack();
  });

  it("through the CLI: exit 1, one error line and its hint, no stack trace, nothing half-written", async () => {
    await writeFile(path.join(root, "etc/ssh/ssh_config.d"), "not a directory\n");
    const result = await addOffline(root, "b", { address: "127.0.0.9" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: cannot write \/etc\/ssh\/ssh_config.d\/crossnix.conf: a part of the path is a file, not a directory \(ENOTDIR\)/m,
    );
    expect(result.stderr).toMatch(/^hint: move the file that stands where a directory should be/m);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    await expectRolledBack();
  });
});
