// `builder add` makes the daemon really read the machines file: when nix.conf sets `builders` and
// then includes a file that sets it again, crossnix adds its assignment after the include (keeping
// the user's line), and the real Nix 2.8 agrees on the effective value. When even that would be
// overridden, it refuses and writes nothing.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planAddBuilder, type PlanInputs } from "../../src/core/builders/plan.js";
import { parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";
import { parseSshConfig } from "../../src/core/formats/ssh-config.js";
import { addOffline } from "../helpers/offline-add.js";

const NIX_CONF = "builders = ssh://a x86_64-linux\ninclude extra.conf\n";
let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-builders-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/nix.conf"), NIX_CONF);
  await writeFile(path.join(root, "etc/nix/extra.conf"), "builders = ssh://b aarch64-linux\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What the real Nix reads from this nix.conf (and its include). */
function nixBuilders(): string {
  const out = execFileSync("nix", ["--extra-experimental-features", "nix-command", "show-config"], {
    env: { PATH: process.env["PATH"], HOME: root, NIX_CONF_DIR: path.join(root, "etc/nix"), NIX_USER_CONF_FILES: "" },
    encoding: "utf8",
  });
  return /^builders = (.*)$/m.exec(out)?.[1] ?? "";
}

describe("builder add and a builders setting overridden by an include", () => {
  it("adds its assignment after the include, keeps the user's line, and Nix then reads the machines file", async () => {
    expect(nixBuilders()).toBe("ssh://b aarch64-linux"); // the include wins before the change
    const added = await addOffline(root, "b5");
    expect(added.code, added.stderr).toBe(0);
    const conf = await readFile(path.join(root, "etc/nix/nix.conf"), "utf8");
    expect(conf.startsWith(NIX_CONF)).toBe(true); // the user's builders line and the include are untouched
    expect(nixBuilders()).toMatch(/^ssh:\/\/b aarch64-linux ?;\s*@\/etc\/nix\/machines$/);
  });
});

describe("when nothing crossnix may write would take effect", () => {
  it("refuses (exit 1) naming where builders is set again, instead of writing a change Nix ignores", () => {
    // nix.custom.conf (crossnix's file on Determinate) is included by nix.conf, which sets builders after it.
    const custom = parseNixConf("", "/etc/nix/nix.custom.conf");
    const layers = [
      {
        source: "/etc/nix/nix.conf",
        kind: "system-file" as const,
        conf: parseNixConf("include /etc/nix/nix.custom.conf\nbuilders =\n", "/etc/nix/nix.conf"),
      },
      {
        source: "/etc/nix/nix.custom.conf",
        kind: "system-file" as const,
        conf: custom,
        includedFrom: { source: "/etc/nix/nix.conf", line: 1 },
      },
    ];
    const inputs: PlanInputs = {
      machines: { path: "/etc/nix/machines", text: null, model: parseMachinesFile("", "/etc/nix/machines") },
      settings: { path: "/etc/nix/nix.custom.conf", text: "", model: custom },
      sshAliases: { path: "/etc/ssh/ssh_config.d/crossnix.conf", text: null, model: parseSshConfig("", "x") },
      knownHosts: { path: "/etc/nix/crossnix/known_hosts", text: null },
      effectiveBuilders: { value: "" },
      effectiveUseSubstitutes: "true",
      systemLayers: layers,
      readOnlyReason: null,
      flavor: "determinate",
      daemonReload: null,
    };
    const builder = {
      name: "b",
      entry: {
        uri: "ssh-ng://b",
        systems: ["x86_64-linux"],
        sshKey: null,
        maxJobs: 1,
        speedFactor: null,
        supportedFeatures: [],
        mandatoryFeatures: [],
        hostKey: null,
      },
      ssh: { hostName: "127.0.0.5", port: null, user: "nix", identityFile: "/etc/nix/crossnix/b_ed25519" },
      createKeyAt: null,
    };
    expect(() => planAddBuilder(inputs, builder as never)).toThrow(
      expect.objectContaining({
        code: "CHECK_FAILED",
        exitCode: 1,
        message:
          "Nix would still not read /etc/nix/machines: builders is set again at /etc/nix/nix.conf:2, after /etc/nix/nix.custom.conf",
      }),
    );
  });
});
