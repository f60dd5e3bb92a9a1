// Loading nix.conf files and configuration layers through the Host.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { effectiveSetting } from "../../src/core/nix/settings.js";
import { CrossnixError } from "../../src/errors.js";
import { createHost } from "../../src/host/system/host.js";
import { loadConfigLayers, loadNixConfFile } from "../../src/host/nix/config-layers.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-nixconf-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// HOME is a path as the user sees it; like every system path it lives under CROSSNIX_ROOT.
const home = "/home/u";

/** An environment with none of the variables that would leak this machine's configuration in. */
function hostWith(extra: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, CROSSNIX_ROOT: root, HOME: home, ...extra };
  for (const v of [
    "NIX_CONF_DIR",
    "NIX_USER_CONF_FILES",
    "NIX_CONFIG_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
    "NIX_CONFIG",
  ]) {
    if (!(v in extra)) delete env[v];
  }
  return createHost(env);
}

async function put(systemPath: string, text: string): Promise<void> {
  const real = path.join(root, systemPath);
  await mkdir(path.dirname(real), { recursive: true });
  await writeFile(real, text);
}

describe("loadNixConfFile", () => {
  it("returns the parsed file and its text, or null", async () => {
    await put("/etc/nix/nix.conf", "max-jobs = 2");
    const loaded = await loadNixConfFile(hostWith(), "/etc/nix/nix.conf");
    expect(loaded?.text).toBe("max-jobs = 2");
    expect(loaded?.conf.fileName).toBe("/etc/nix/nix.conf");
    expect(await loadNixConfFile(hostWith(), "/etc/nix/none.conf")).toBeNull();
  });
});

describe("loadConfigLayers", () => {
  it("follows include chains relative to the including file, and skips a missing !include", async () => {
    await put("/etc/nix/nix.conf", "builders = @/a\n!include nix.custom.conf\n!include /etc/nix/absent.conf\n");
    await put("/etc/nix/nix.custom.conf", "include sub/more.conf\nmax-jobs = 3\n");
    await put("/etc/nix/sub/more.conf", "builders = @/b\n");
    const layers = await loadConfigLayers(hostWith(), { user: false });
    expect(layers.map((l) => [l.source, l.includedFrom?.line ?? null, l.conf === null])).toEqual([
      ["/etc/nix/nix.conf", null, false],
      ["/etc/nix/nix.custom.conf", 2, false],
      ["/etc/nix/sub/more.conf", 1, false],
      ["/etc/nix/absent.conf", 3, true],
    ]);
    expect(effectiveSetting("builders", layers)).toMatchObject({ value: "@/b", source: "/etc/nix/sub/more.conf" });
  });

  it("a missing include names both files", async () => {
    await put("/etc/nix/nix.conf", "include nope.conf\n");
    const error = await loadConfigLayers(hostWith()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossnixError);
    expect((error as CrossnixError).message).toBe(
      "file '/etc/nix/nope.conf' included from '/etc/nix/nix.conf' not found",
    );
  });

  it("a dangling symlink counts as present (Nix's pathExists) and reads as empty", async () => {
    await put("/etc/nix/nix.conf", "include link.conf\n");
    await symlink("/nonexistent-target", path.join(root, "etc/nix/link.conf"));
    const layers = await loadConfigLayers(hostWith(), { user: false });
    expect(layers[1]).toMatchObject({ source: "/etc/nix/link.conf", conf: null });
  });

  it("stops an include cycle with an error at the include line", async () => {
    await put("/etc/nix/nix.conf", "include a.conf\n");
    await put("/etc/nix/a.conf", "\n  include ./nix.conf\n");
    await expect(loadConfigLayers(hostWith())).rejects.toThrow(/a\.conf:2:11: include cycle/);
  });

  it("reads user files in NIX_USER_CONF_FILES order and lets NIX_CONFIG win", async () => {
    await put("/etc/nix/nix.conf", "max-jobs = 1\n");
    await put("/u/first.conf", "max-jobs = 2\ncores = 2\n");
    await put("/u/second.conf", "max-jobs = 3\ncores = 3\nsubstituters = a\n");
    const host = hostWith({
      NIX_USER_CONF_FILES: "/u/first.conf:/u/second.conf",
      NIX_CONFIG: "max-jobs = 8\nextra-substituters = b",
    });
    const layers = await loadConfigLayers(host);
    expect(layers.map((l) => l.kind)).toEqual(["system-file", "user-file", "user-file", "env"]);
    expect(effectiveSetting("cores", layers)).toMatchObject({ value: "2", forwardedToDaemon: true });
    expect(effectiveSetting("max-jobs", layers)).toMatchObject({ value: "8", source: "NIX_CONFIG" });
    expect(effectiveSetting("substituters", layers).value).toBe("a b");
    expect((await loadConfigLayers(host, { user: false })).map((l) => l.source)).toEqual(["/etc/nix/nix.conf"]);
  });

  it("reads ~/.config/nix/nix.conf from HOME", async () => {
    await put(`${home}/.config/nix/nix.conf`, "builders = @/home/machines\n");
    const layers = await loadConfigLayers(hostWith({ XDG_CONFIG_DIRS: "" }));
    expect(effectiveSetting("builders", layers)).toMatchObject({
      value: "@/home/machines",
      source: "/home/u/.config/nix/nix.conf",
    });
  });

  it("rejects a relative include in NIX_CONFIG like Nix ('not an absolute path')", async () => {
    await expect(loadConfigLayers(hostWith({ NIX_CONFIG: "include x.conf" }))).rejects.toThrow(
      /NIX_CONFIG:1:9: not an absolute path/,
    );
  });
});
