// Plans that write repository files (FileChange.repoFile).
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyPlan } from "../../src/core/plan/plan.js";
import { applyPlan, unwritableFiles } from "../../src/host/plan/apply.js";
import { createHost } from "../../src/host/system/host.js";

// Workflow files live in the user's repository: CROSSNIX_ROOT (a stand-in for `/`) must not move
// them, and writing one must not need the system lock under /etc/nix/crossnix.
let root: string;
let repo: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-ci-root-"));
  repo = await mkdtemp(path.join(os.tmpdir(), "crossnix-ci-repo-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(repo, { recursive: true, force: true });
});

describe("plans with repository files (FileChange.repoFile)", () => {
  it("writes at the given absolute path even under CROSSNIX_ROOT, without backup or system lock", async () => {
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root });
    const file = path.join(repo, ".github/workflows/nix.yml");
    const plan = emptyPlan("workflow");
    plan.files.push({ path: file, before: null, after: "name: Nix\n", reason: "", repoFile: true });
    expect(await unwritableFiles(host, plan)).toEqual([]);
    const result = await applyPlan(host, plan);
    expect(await readFile(file, "utf8")).toBe("name: Nix\n");
    expect(result).toMatchObject({ written: [file], backups: [] });
    await expect(stat(path.join(root, file))).rejects.toThrow();
    await expect(stat(path.join(root, "etc/nix/crossnix"))).rejects.toThrow();
  });

  it("still refuses when the repository file changed after planning", async () => {
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root });
    const file = path.join(repo, "nix.yml");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, "edited meanwhile\n");
    const plan = emptyPlan("workflow");
    plan.files.push({ path: file, before: "old\n", after: "new\n", reason: "", repoFile: true });
    await expect(applyPlan(host, plan)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await readFile(file, "utf8")).toBe("edited meanwhile\n");
  });
});
