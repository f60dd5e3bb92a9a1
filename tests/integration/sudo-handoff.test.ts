// A normal user cannot write /etc/nix: crossnix hands the confirmed plan to sudo and says so.
// Here the user has no sudo rights, so the handoff must fail with a clear message and write nothing.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";

const USER = "cxclient";
let root: string;
const hasUser = (() => {
  try {
    execFileSync("id", [USER], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-sudo-"));
  await chmod(root, 0o755);
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/machines"), "# root's\n");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(!hasUser)("root-owned files as a normal user", () => {
  it("asks sudo to apply the plan and, when sudo refuses, says why and writes nothing", () => {
    const key = Buffer.from(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOIvQbm/E9OkjuHMreLID68dTsF1WXNjV7QjHtS6kL02",
    ).toString("base64");
    let stderr = "";
    let code = 0;
    try {
      execFileSync(
        "setpriv",
        [
          "--reuid",
          USER,
          "--regid",
          USER,
          "--init-groups",
          "--",
          process.execPath,
          CLI,
          "builder",
          "add",
          "nix@127.0.0.5",
          "--name",
          "x",
          "--system",
          "x86_64-linux",
          "--no-probe",
          "--host-key",
          key,
          "--yes",
        ],
        {
          env: { PATH: process.env["PATH"], HOME: "/tmp", CROSSNIX_ROOT: root, NO_COLOR: "1" },
          stdio: ["ignore", "pipe", "pipe"],
          encoding: "utf8",
        },
      );
    } catch (error) {
      const e = error as { status: number; stderr: string };
      code = e.status;
      stderr = e.stderr;
    }
    expect(code).toBe(1);
    const needsRoot = /crossnix needs root to write (.*); asking sudo/.exec(stderr);
    expect(needsRoot?.[1]?.split(", ")).toEqual(
      expect.arrayContaining(["/etc/nix/machines", "/etc/ssh/ssh_config.d/crossnix.conf", "/etc/nix/nix.conf"]),
    );
    // Without sudo rights: sudo's own reason (e.g. "a password is required"), or that sudo is missing.
    expect(stderr).toMatch(/error: sudo could not apply the plan: .*(sudo: |cannot run 'sudo')/s);
    return readFile(path.join(root, "etc/nix/machines"), "utf8").then((text) => expect(text).toBe("# root's\n"));
  });
});
