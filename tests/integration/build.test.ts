// crossnix build on the test bed: three builders of different systems plus one spare, the local
// daemon with max-jobs = 0, and derivations from tests/fixtures/nix/fleet.nix.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  BUSYBOX_DIR,
  clientIdentity,
  createSandbox,
  newNonce,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { crossnixIn } from "../helpers/sandbox-cli.js";
import { REPO } from "../helpers/cli.js";

const ready = useTestBed();
const KEY = "/etc/nix/testbed_client_ed25519";
const FLEET = path.join(REPO, "tests/fixtures/nix/fleet.nix");

interface BuildJson {
  outputs: string[];
  builds: { drv: string; builder: string; seconds: number }[];
  substituted: string[];
}

describe.skipIf(!ready)("crossnix build through the fleet", () => {
  let builders: Builder[];
  let sandbox: Sandbox;
  const crossnix = (args: string[], user?: string) => crossnixIn(sandbox, args, user ? { user } : {});
  const fleetArgs = (attr: string, nonce = newNonce()) => [
    "--",
    "-f",
    FLEET,
    attr,
    "--argstr",
    "nonce",
    nonce,
    "--arg",
    "busybox",
    BUSYBOX_DIR,
  ];

  beforeAll(async () => {
    assertTestbedReady();
    builders = await startBuilders([
      { systems: ["x86_64-linux"] },
      { systems: ["aarch64-linux"] },
      { systems: ["i686-linux"] },
      { systems: ["x86_64-linux"] },
    ]);
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    sandbox.writeFile(KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    for (const [i, b] of builders.entries()) {
      const add = await crossnix([
        "builder",
        "add",
        `${b.user}@${b.address}:${b.port}`,
        "--name",
        `b${i + 1}`,
        "--identity",
        KEY,
        "--yes",
      ]);
      expect(add.exitCode, add.stderr).toBe(0);
    }
    // b4 is the spare for --builder: Nix must not pick it on its own.
    expect((await crossnix(["builder", "disable", "b4", "--yes"])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it.each([
    ["x86", 0, "x86_64-linux"],
    ["arm", 1, "aarch64-linux"],
    ["i686", 2, "i686-linux"],
  ])("%s lands on the builder that has its system", async (attr, index, system) => {
    const run = await crossnix(["build", "--json", ...fleetArgs(attr)]);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as BuildJson;
    expect(result.builds).toHaveLength(1);
    expect(result.builds[0]!.builder).toBe(`b${index + 1}`);
    expect(result.builds[0]!.seconds).toBeGreaterThan(0);
    const output = fs.readFileSync(result.outputs[0]!, "utf8");
    expect(output).toContain(`system=${system}`);
    if (system === "aarch64-linux") expect(output).toContain("machine=aarch64");
    expect(builders[index]!.hasBuildLog(result.builds[0]!.drv)).toBe(true);
  });

  it("--builder sends the build to that builder only", async () => {
    const run = await crossnix(["build", "--json", "--builder", "b4", ...fleetArgs("x86")]);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as BuildJson;
    expect(result.builds.map((b) => b.builder)).toEqual(["b4"]);
    expect(builders[3]!.hasBuildLog(result.builds[0]!.drv)).toBe(true);
  });

  it("--builder needs a user the daemon trusts, and says so", async () => {
    const run = await crossnix(["build", "--builder", "b4", ...fleetArgs("x86")], sandbox.clientUser);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("--builder needs a user the Nix daemon trusts");
  });

  it("refuses a system no builder has before Nix starts", async () => {
    const run = await crossnix(["build", ...fleetArgs("riscv")]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("no builder is configured for riscv64-linux");
    expect(run.stderr).toContain("The build was not started");
    expect(run.stderr).not.toContain("building");
  });

  it("refuses when the only builder for a system is down, naming why", async () => {
    await builders[2]!.setFault("stopped");
    // A cold start: the short-lived cache of builders that answered is per user under TMPDIR.
    fs.rmSync(path.join(sandbox.tmpDir, "crossnix-0"), { recursive: true, force: true });
    try {
      const run = await crossnix(["build", "--timeout", "3", ...fleetArgs("i686")]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/every builder for i686-linux is down \(b3: nothing listens on the SSH port/);
    } finally {
      await builders[2]!.setFault("stopped", false);
    }
  });

  it("a failing build prints the decoded cause and the build's own last lines", async () => {
    const run = await crossnix(["build", ...fleetArgs("failing")]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/error: the build failed: .*builder/i);
    const json = await crossnix(["build", "--json", ...fleetArgs("failing")]);
    const doc = JSON.parse(json.stdout) as { error: { detail: { diagnoses: { cause: string; evidence: string }[] } } };
    expect(doc.error.detail.diagnoses[0]!.cause).toBe("build-failed");
    expect(JSON.stringify(doc.error.detail.diagnoses[0])).toContain("the thing is broken");
  });

  it("spreads a batch over the builders that have the system and reports each", async () => {
    const run = await crossnix([
      "build",
      "--json",
      "--",
      "-f",
      FLEET,
      "batch",
      "--argstr",
      "nonce",
      newNonce(),
      "--arg",
      "busybox",
      BUSYBOX_DIR,
      "--arg",
      "count",
      "3",
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as BuildJson;
    expect(result.outputs).toHaveLength(3);
    expect(result.builds.map((b) => b.builder)).toEqual(["b2", "b2", "b2"]);
  });
});
