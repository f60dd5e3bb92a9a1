// The env use case (envScript): the builders value and NIX_CONFIG lines it produces.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envScript } from "../../src/app/env.js";
import { createHost } from "../../src/host/system/host.js";

// crossnix env in-process, on a temp-rooted machine (its own machines file and nix.conf).

let root: string;

function hostWith(env: NodeJS.ProcessEnv = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, CROSSNIX_ROOT: root, SHELL: "/bin/bash" };
  delete base["NIX_CONFIG"];
  delete base["NIX_REMOTE"];
  delete base["NIX_REMOTE_SYSTEMS"];
  return createHost({ ...base, ...env });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-env-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await writeFile(
    path.join(root, "etc/nix/machines"),
    "ssh-ng://nix@big.example x86_64-linux - 4 1 - - - # crossnix:big\nssh://small.example aarch64-linux # crossnix:small\n",
  );
  // The user this test runs as is not trusted (root always is): matters only when a daemon is in play.
  await writeFile(path.join(root, "etc/nix/nix.conf"), "trusted-users = crossnix-test-nobody\n");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("envScript", () => {
  it("points this shell's builders at the machines file (single-user Nix: no daemon to ignore them)", async () => {
    const script = await envScript(hostWith(), { shell: null, builders: [] });
    expect(script).toMatchObject({ shell: "sh", trusted: true });
    expect(script.variables.NIX_CONFIG).toBe("builders = @/etc/nix/machines\nbuilders-use-substitutes = true");
    expect(script.lines.at(-1)).toBe(`export NIX_CONFIG='${script.variables.NIX_CONFIG}'`);
  });

  it("takes the shell from $SHELL unless given", async () => {
    expect((await envScript(hostWith({ SHELL: "/usr/bin/fish" }), { shell: null, builders: [] })).shell).toBe("fish");
    const sh = await envScript(hostWith({ SHELL: "/usr/bin/fish" }), { shell: "sh", builders: [] });
    expect(sh.lines.at(-1)).toMatch(/^export NIX_CONFIG=/);
  });

  it("inlines only the chosen builders' entries, in the order given", async () => {
    const script = await envScript(hostWith(), { shell: "sh", builders: ["small", "big"] });
    expect(script.variables.NIX_CONFIG.split("\n")[0]).toBe(
      "builders = ssh://small.example aarch64-linux ; ssh-ng://nix@big.example x86_64-linux - 4 1",
    );
  });

  it("keeps what NIX_CONFIG already set", async () => {
    const script = await envScript(hostWith({ NIX_CONFIG: "max-jobs = 2" }), { shell: "sh", builders: [] });
    expect(script.variables.NIX_CONFIG.split("\n")[0]).toBe("max-jobs = 2");
  });

  it("an unknown builder is an error naming it", async () => {
    await expect(envScript(hostWith(), { shell: "sh", builders: ["ghost"] })).rejects.toMatchObject({
      message: expect.stringContaining("ghost"),
    });
  });

  // The daemon always trusts root, so this is seen only as another user.
  it.skipIf(process.getuid?.() === 0)(
    "refuses when the daemon would ignore the lines (a user it does not trust)",
    async () => {
      await expect(envScript(hostWith({ NIX_REMOTE: "daemon" }), { shell: "sh", builders: [] })).rejects.toMatchObject({
        code: "PERMISSION",
        message: expect.stringContaining("not in trusted-users (crossnix-test-nobody)"),
      });
    },
  );
});
