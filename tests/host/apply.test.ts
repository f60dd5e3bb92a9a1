// Applying plans: atomic writes, journal and rollback, and the lock.
import { spawn } from "node:child_process";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyPlan } from "../../src/core/plan/plan.js";
import { isGeneratedLink } from "../../src/core/nix/trust.js";
import { applyPlan, notingSymlinks } from "../../src/host/plan/apply.js";
import { writeFileAtomic } from "../../src/host/system/files.js";
import { acquireLock } from "../../src/host/plan/lock.js";
import { createHost } from "../../src/host/system/host.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-apply-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const hostFor = () => createHost({ ...process.env, CROSSNIX_ROOT: root });

describe("writeFileAtomic", () => {
  it("keeps the mode of the file it replaces and leaves no temp file", async () => {
    const file = path.join(root, "f");
    await writeFile(file, "old");
    await chmod(file, 0o600);
    await writeFileAtomic(file, "new");
    expect(await readFile(file, "utf8")).toBe("new");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(root)).toEqual(["f"]);
  });

  it("creates parent directories and applies the requested mode to new files", async () => {
    const file = path.join(root, "a/b/key");
    await writeFileAtomic(file, "secret", 0o600);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});

describe("applyPlan", () => {
  it("writes, deletes and backs up under CROSSNIX_ROOT", async () => {
    await mkdir(path.join(root, "etc/nix"), { recursive: true });
    await writeFile(path.join(root, "etc/nix/machines"), "old\n");
    await writeFile(path.join(root, "etc/nix/gone"), "bye\n");
    const plan = emptyPlan("t");
    plan.files.push({ path: "/etc/nix/machines", before: "old\n", after: "new\n", reason: "" });
    plan.files.push({ path: "/etc/nix/gone", before: "bye\n", after: null, reason: "" });
    plan.files.push({ path: "/etc/ssh/ssh_config.d/crossnix.conf", before: null, after: "Host x\n", reason: "" });
    const result = await applyPlan(hostFor(), plan);
    expect(await readFile(path.join(root, "etc/nix/machines"), "utf8")).toBe("new\n");
    await expect(stat(path.join(root, "etc/nix/gone"))).rejects.toThrow();
    expect(await readFile(path.join(root, "etc/ssh/ssh_config.d/crossnix.conf"), "utf8")).toBe("Host x\n");
    expect(result.backups).toHaveLength(2);
    const backedUp = await Promise.all(result.backups.map((b) => readFile(b, "utf8")));
    expect(backedUp.sort()).toEqual(["bye\n", "old\n"]);
    expect(result.backups.every((b) => b.startsWith(path.join(root, "etc/nix/crossnix/backups")))).toBe(true);
  });

  it("refuses when a file changed after the plan was made, writing nothing", async () => {
    await mkdir(path.join(root, "etc/nix"), { recursive: true });
    await writeFile(path.join(root, "etc/nix/a"), "a0");
    await writeFile(path.join(root, "etc/nix/b"), "edited by someone else");
    const plan = emptyPlan("t");
    plan.files.push({ path: "/etc/nix/a", before: "a0", after: "a1", reason: "" });
    plan.files.push({ path: "/etc/nix/b", before: "b0", after: "b1", reason: "" });
    await expect(applyPlan(hostFor(), plan)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await readFile(path.join(root, "etc/nix/a"), "utf8")).toBe("a0");
  });

  it("runs commands after the files and reports a failing optional one", async () => {
    const host = createHost({ ...process.env, CROSSNIX_ROOT: root, CROSSNIX_TEST_RUN_COMMANDS: "1" });
    const plan = emptyPlan("t");
    plan.commands.push({ argv: ["false"], description: "optional", optional: true });
    plan.commands.push({ argv: ["true"], description: "ok" });
    const result = await applyPlan(host, plan);
    expect(result.commands.map((c) => c.ok)).toEqual([false, true]);
    const failing = emptyPlan("t");
    failing.commands.push({ argv: ["false"], description: "reload" });
    await expect(applyPlan(host, failing)).rejects.toMatchObject({ code: "EXEC" });
  });

  it("under CROSSNIX_ROOT runs no command (they would act on the real machine) and says so", async () => {
    const marker = path.join(root, "ran");
    const plan = emptyPlan("t");
    plan.commands.push({ argv: ["touch", marker], description: "restart the Nix daemon" });
    const result = await applyPlan(hostFor(), plan);
    expect(result.commands).toEqual([
      {
        command: `touch ${marker}`,
        ok: false,
        skipped: true,
        detail: `skipped: CROSSNIX_ROOT=${root} confines crossnix to files there`,
      },
    ]);
    await expect(stat(marker)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a CROSSNIX_ROOT that is empty, relative or a file instead of meaning /", async () => {
    await writeFile(path.join(root, "file"), "");
    for (const bad of ["", "relative/dir", path.join(root, "file")]) {
      expect(() => createHost({ ...process.env, CROSSNIX_ROOT: bad })).toThrow(
        expect.objectContaining({ code: "BAD_INPUT", exitCode: 2 }),
      );
    }
  });
});

describe("lock", () => {
  it("makes a second taker wait with a message, then fail naming the holder", async () => {
    const lockFile = path.join(root, "lock");
    const held = await acquireLock(lockFile, { purpose: "first run" });
    const notices: string[] = [];
    await expect(acquireLock(lockFile, { waitMs: 300, notice: (l) => notices.push(l) })).rejects.toMatchObject({
      code: "LOCKED",
      message: expect.stringContaining(`pid ${process.pid} (first run)`),
    });
    expect(notices.join("\n")).toMatch(/waiting for another crossnix/);
    await held.release();
    const again = await acquireLock(lockFile, { waitMs: 300 });
    expect(again.tookOverFrom).toBeNull();
    await again.release();
  });

  it("a waiting taker gets the lock as soon as the holder releases it", async () => {
    const lockFile = path.join(root, "lock");
    const held = await acquireLock(lockFile);
    const waiting = acquireLock(lockFile, { waitMs: 30_000 });
    await held.release();
    const lock = await waiting;
    await lock.release();
  });

  it("takes over the lock of a holder that died, saying whose it was", async () => {
    const dead = spawn("true");
    await new Promise((r) => dead.on("close", r));
    const lockFile = path.join(root, "lock");
    await writeFile(lockFile, `pid ${dead.pid} (builder add)\n`);
    const notices: string[] = [];
    const lock = await acquireLock(lockFile, { waitMs: 200, notice: (l) => notices.push(l) });
    expect(lock.tookOverFrom).toBe(`pid ${dead.pid} (builder add)`);
    expect(notices).toEqual([`took over the lock left by pid ${dead.pid} (builder add), which is no longer running`]);
    expect((await readFile(lockFile, "utf8")).trim()).toBe(`pid ${process.pid}`);
    await lock.release();
  });

  it("refuses a lock path that is a directory or a symlink, without a stack trace", async () => {
    await mkdir(path.join(root, "dir"));
    await expect(acquireLock(path.join(root, "dir"))).rejects.toMatchObject({
      code: "IO",
      message: expect.stringContaining("Is a directory"),
    });
    await symlink(path.join(root, "elsewhere"), path.join(root, "link"));
    await expect(acquireLock(path.join(root, "link"))).rejects.toMatchObject({ code: "IO" });
    await expect(stat(path.join(root, "elsewhere"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("symlinked files", () => {
  it("writes through a symlink to its target and keeps the link; the plan says so first", async () => {
    await mkdir(path.join(root, "etc/nix"), { recursive: true });
    await mkdir(path.join(root, "dotfiles"), { recursive: true });
    await writeFile(path.join(root, "dotfiles/nix.conf"), "max-jobs = 1\n");
    await symlink("../../dotfiles/nix.conf", path.join(root, "etc/nix/nix.conf"));
    const plan = emptyPlan("t");
    plan.files.push({
      path: "/etc/nix/nix.conf",
      before: "max-jobs = 1\n",
      after: "max-jobs = 2\n",
      reason: "settings",
    });
    const noted = await notingSymlinks(hostFor(), plan);
    expect(noted.files[0]?.reason).toBe(
      "settings; /etc/nix/nix.conf is a symlink to ../../dotfiles/nix.conf: written there, the link stays",
    );
    await applyPlan(hostFor(), plan);
    expect((await lstat(path.join(root, "etc/nix/nix.conf"))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(root, "dotfiles/nix.conf"), "utf8")).toBe("max-jobs = 2\n");
  });

  it("refuses a symlink to nothing, naming it, and writes nothing", async () => {
    await mkdir(path.join(root, "etc/nix"), { recursive: true });
    await symlink("/nonexistent/nix.conf", path.join(root, "etc/nix/nix.conf"));
    const plan = emptyPlan("t");
    plan.files.push({ path: "/etc/nix/nix.conf", before: null, after: "x = 1\n", reason: "" });
    await expect(applyPlan(hostFor(), plan)).rejects.toMatchObject({
      code: "IO",
      message:
        "cannot write /etc/nix/nix.conf: it is a symlink to /nonexistent/nix.conf, which does not exist; nothing was changed",
    });
    expect(await readlink(path.join(root, "etc/nix/nix.conf"))).toBe("/nonexistent/nix.conf");
  });

  it("recognises nix-darwin's relative ../static links and store links as generated, not a dotfiles link", () => {
    expect(isGeneratedLink("/etc/nix/nix.conf", "../static/nix/nix.conf")).toBe(true);
    expect(isGeneratedLink("/etc/nix/nix.conf", "/etc/static/nix/nix.conf")).toBe(true);
    expect(isGeneratedLink("/etc/nix/machines", "/nix/store/abc-machines")).toBe(true);
    expect(isGeneratedLink("/etc/nix/nix.conf", "../../Users/me/dotfiles/nix.conf")).toBe(false);
    expect(isGeneratedLink("/etc/nix/nix.conf", null)).toBe(false);
  });
});
