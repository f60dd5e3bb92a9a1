// The emulate use cases in-process on a temp-rooted Linux machine: binfmt_misc, os-release and nix.conf are files under the root.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emulate } from "../../src/app/emulation/emulate.js";
import { emulationStatus } from "../../src/app/emulation/status.js";
import { entryRuns, parseBinfmtEntry } from "../../src/core/emulation/binfmt.js";
import { emulatedCpu } from "../../src/core/emulation/systems.js";
import type { Context } from "../../src/context.js";
import { CrossnixError } from "../../src/errors.js";
import { createHost } from "../../src/host/system/host.js";

// Recorded from this Debian 12 machine (qemu-user-static 7.2): cat /proc/sys/fs/binfmt_misc/qemu-aarch64
const QEMU_AARCH64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: PF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';

let root: string;

async function put(file: string, text: string) {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), text);
}

/** binfmt_misc mounted with the given entries, Debian's interpreter layout. */
async function binfmt(entries: Record<string, string>) {
  await put("/proc/sys/fs/binfmt_misc/status", "enabled\n");
  await put("/proc/sys/fs/binfmt_misc/register", "");
  for (const [name, text] of Object.entries(entries)) await put(`/proc/sys/fs/binfmt_misc/${name}`, text);
  await put("/usr/bin/qemu-aarch64-static", "");
  await mkdir(path.join(root, "usr/libexec/qemu-binfmt"), { recursive: true });
  await symlink("../../bin/qemu-aarch64-static", path.join(root, "usr/libexec/qemu-binfmt/aarch64-binfmt-P"));
}

function context(platform = "linux") {
  const seen = { out: [] as string[], progress: [] as string[] };
  const ctx: Context = {
    host: createHost({ ...process.env, CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: platform, CROSSNIX_ARCH: "x64" }),
    options: { json: false, dryRun: false, yes: true, verbose: false, color: false, timeout: 5 },
    prompt: { interactive: false, confirm: async () => false, ask: async () => "" },
    out: (t) => seen.out.push(t),
    warn: () => {},
    progress: (l) => seen.progress.push(l),
    debug: () => {},
  };
  return { ctx, seen };
}

const nixConf = () => readFile(path.join(root, "etc/nix/nix.conf"), "utf8");

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-emulate-"));
  await put("/etc/os-release", DEBIAN);
  await put("/etc/nix/nix.conf", "# mine\nbuild-users-group = nixbld\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("binfmt entries", () => {
  it("recognises aarch64 ELF under the mask, and not x86_64 or riscv64", () => {
    const entry = parseBinfmtEntry("qemu-aarch64", QEMU_AARCH64);
    expect(entry).toMatchObject({
      enabled: true,
      flags: "PF",
      interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P",
    });
    expect(entryRuns(entry, emulatedCpu("aarch64-linux")!)).toBe(true);
    expect(entryRuns(entry, emulatedCpu("x86_64-linux")!)).toBe(false);
    expect(entryRuns(entry, emulatedCpu("riscv64-linux")!)).toBe(false);
  });
});

describe("emulate enable", () => {
  it("adds the system to extra-platforms keeping Nix's default i686-linux, and both interpreter paths to the sandbox", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    const { ctx } = context();
    const result = await emulate(ctx, "enable", ["aarch64-linux"], { build: false });
    expect(result.outcome?.applied).toBe(true);
    expect(await nixConf()).toBe(
      "# mine\nbuild-users-group = nixbld\n# crossnix: systems this machine builds through QEMU user emulation\nextra-platforms = i686-linux aarch64-linux\n# crossnix: QEMU interpreters builds may run in the sandbox\nextra-sandbox-paths = /usr/libexec/qemu-binfmt/aarch64-binfmt-P /usr/bin/qemu-aarch64-static\n",
    );
    // Again: nothing to change.
    expect((await emulate(ctx, "enable", [], { build: false })).outcome?.noop).toBe(true);
  });

  it("with the sandbox off, writes no sandbox paths and edits an existing extra-platforms line in place", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    await put("/etc/nix/nix.conf", "sandbox = false\nextra-platforms = riscv64-linux # keep\n");
    const { ctx } = context();
    await emulate(ctx, "enable", ["aarch64-linux"], { build: false });
    expect(await nixConf()).toBe("sandbox = false\nextra-platforms = riscv64-linux aarch64-linux # keep\n");
  });

  it("without an interpreter: refused with Debian's (or Fedora's) install command, nothing written", async () => {
    await binfmt({});
    await rm(path.join(root, "usr/bin/qemu-aarch64-static")); // not installed either
    const before = await nixConf();
    const refused = await emulate(context().ctx, "enable", [], { build: false }).catch((e) => e);
    expect(refused).toBeInstanceOf(CrossnixError);
    expect(refused).toMatchObject({ exitCode: 1, hint: "sudo apt-get install qemu-user-static binfmt-support" });
    expect(refused.message).toContain("no qemu-aarch64 entry");
    await put("/etc/os-release", "ID=fedora\n");
    await expect(emulate(context().ctx, "enable", [], { build: false })).rejects.toMatchObject({
      hint: "sudo dnf install qemu-user-static",
    });
    expect(await nixConf()).toBe(before);
  });

  it("installed but not registered: the hint registers it (update-binfmts on Debian)", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    await put("/usr/bin/qemu-riscv64-static", "");
    await expect(emulate(context().ctx, "enable", ["riscv64-linux"], { build: false })).rejects.toMatchObject({
      hint: "sudo update-binfmts --enable qemu-riscv64",
    });
  });

  it("refuses an interpreter registered without F, and an unmounted binfmt_misc", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64.replace("flags: PF", "flags: P") });
    await expect(emulate(context().ctx, "enable", [], { build: false })).rejects.toThrow(/without the F flag/);
    await rm(path.join(root, "proc"), { recursive: true });
    await expect(emulate(context().ctx, "enable", [], { build: false })).rejects.toMatchObject({
      message: expect.stringContaining("not mounted"),
      hint: expect.stringContaining("mount -t binfmt_misc"),
    });
  });

  it("bad systems are exit 2: unknown to QEMU, or native here", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    await expect(emulate(context().ctx, "enable", ["sparc-linux"], { build: false })).rejects.toMatchObject({
      exitCode: 2,
    });
    await expect(emulate(context().ctx, "enable", ["x86_64-linux"], { build: false })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("natively"),
    });
    await expect(emulate(context().ctx, "enable", ["i686-linux"], { build: false })).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it("on NixOS prints boot.binfmt.emulatedSystems and writes nothing", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    await put("/etc/os-release", "ID=nixos\n");
    const before = await nixConf();
    const result = await emulate(context().ctx, "enable", ["aarch64-linux", "riscv64-linux"], { build: false });
    expect(result.nixosSnippet).toBe('boot.binfmt.emulatedSystems = [ "aarch64-linux" "riscv64-linux" ];');
    expect(result.outcome).toBeNull();
    expect(await nixConf()).toBe(before);
  });

  it("on macOS refuses with the reason and what works there", async () => {
    await expect(emulate(context("darwin").ctx, "enable", [], { build: false })).rejects.toMatchObject({
      code: "UNSUPPORTED",
      exitCode: 1,
      message: expect.stringContaining("no binfmt_misc"),
      hint: expect.stringContaining("crossnix vm create"),
    });
  });
});

describe("emulate disable and status", () => {
  it("disable takes the system and its interpreter out, keeping the rest", async () => {
    await binfmt({ "qemu-aarch64": QEMU_AARCH64 });
    const { ctx } = context();
    await emulate(ctx, "enable", [], { build: false });
    await emulate(ctx, "disable", [], { build: false });
    expect(await nixConf()).toBe(
      "# mine\nbuild-users-group = nixbld\n# crossnix: systems this machine builds through QEMU user emulation\nextra-platforms = i686-linux\n",
    );
  });

  it("status names a system in extra-platforms with no interpreter (Nix would fail with exit 126)", async () => {
    await binfmt({});
    await put("/etc/nix/nix.conf", "extra-platforms = aarch64-linux\n");
    const status = await emulationStatus(context().ctx.host, []);
    expect(status.systems).toEqual([
      expect.objectContaining({ system: "aarch64-linux", state: "configured-without-interpreter", entry: null }),
    ]);
    expect(status.install).toBe("sudo apt-get install qemu-user-static binfmt-support");
  });
});
