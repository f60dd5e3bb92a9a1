// crossnix restarts (re-runs as itself) only a nix-daemon that root or crossnix's own user started.
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDaemonProcess } from "../../src/host/nix/daemon.js";

const asRoot = process.getuid?.() === 0;
let dir: string;
let impostor: ChildProcess;

beforeAll(async () => {
  if (!asRoot) return;
  dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-impostor-"));
  await chmod(dir, 0o755);
  // A program called nix-daemon, started by an ordinary user with whatever arguments they like.
  await copyFile("/bin/sleep", path.join(dir, "nix-daemon"));
  await chmod(path.join(dir, "nix-daemon"), 0o755);
  impostor = spawn(
    "setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", "--", path.join(dir, "nix-daemon"), "30"],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 300));
});
afterAll(async () => {
  if (!asRoot) return;
  if (impostor.pid !== undefined) process.kill(impostor.pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!asRoot)("findDaemonProcess", () => {
  it("ignores a nix-daemon another (non-root) user started: restarting it would run their command as root", async () => {
    expect(impostor.pid).toBeDefined();
    // Only the impostor's pid: a real daemon running elsewhere on this machine must not hide it.
    expect(await findDaemonProcess([String(impostor.pid)])).toBeNull();
  });
});
