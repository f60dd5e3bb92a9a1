// migrate from a crossnix SSH builder to a Lima VM, end to end against the limactl stand-in (its VMs are
// real test-bed builders): --dry-run shows the whole migration and writes nothing; a VM that does not
// start leaves the old builder registered and building; run again, the half-made VM is resumed,
// proven by a real build per system, and only then is the old builder removed.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  BUSYBOX_DIR,
  type Builder,
  clientIdentity,
  createSandbox,
  LimaStandin,
  newNonce,
  type Sandbox,
  startBuilders,
} from "#testbed";
// Aliased: biome reads a top-level use…() call as a React hook.
import { useTestBed as registerTestBed } from "#testbed/vitest";
import { REPO } from "../helpers/cli.js";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = registerTestBed();
const FLEET = path.join(REPO, "tests/fixtures/nix/fleet.nix");
const STD_PATH = "/usr/local/bin:/usr/bin:/bin";
const CLIENT_KEY = "/etc/nix/testbed_client_ed25519";
// The settings a builder needs are there already, so no step needs a daemon restart (launchctl on "macOS").
const NIX_CONF = "max-jobs = 0\nbuilders = @/etc/nix/machines\nbuilders-use-substitutes = true\n";

interface Migration {
  steps: { phase: string; status: string; text: string }[];
  proven: boolean | null;
  retired: boolean;
}

describe.skipIf(!ready)("migrate --to lima (stand-in)", () => {
  let old: Builder;
  let sandbox: Sandbox;
  let lima: LimaStandin;
  const env = () => ({ ...lima.env(STD_PATH), CROSSNIX_PLATFORM: "darwin", CROSSNIX_ARCH: "arm64" });
  const crossnix = (args: string[]) => crossnixIn(sandbox, args, { env: env() });
  const armBuild = () => ["--", "-f", FLEET, "arm", "--argstr", "nonce", newNonce(), "--arg", "busybox", BUSYBOX_DIR];
  const buildsOn = async () => {
    const built = await crossnix(["build", "--json", ...armBuild()]);
    expect(built.exitCode, built.stderr).toBe(0);
    return (JSON.parse(built.stdout) as { builds: { drv: string; builder: string }[] }).builds;
  };

  beforeAll(async () => {
    assertTestbedReady();
    [old] = (await startBuilders([{ systems: ["aarch64-linux", "x86_64-linux"] }])) as [Builder];
    sandbox = await createSandbox({ nixConf: NIX_CONF });
    sandbox.writeFile(CLIENT_KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    lima = await LimaStandin.start({ version: "2.2.0" });
    const added = await crossnix([
      "builder",
      "add",
      `${old.user}@${old.address}:${old.port}`,
      "--name",
      "old",
      "--identity",
      CLIENT_KEY,
      "--yes",
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
  });
  afterAll(async () => {
    await lima?.stop();
    await sandbox?.stop();
  });

  it("--dry-run shows the VM to make and the builder to retire, and makes nothing", async () => {
    const machines = sandbox.readFile("/etc/nix/machines");
    const run = await crossnix(["migrate", "--from", "ssh:old", "--to", "lima:mig", "--dry-run"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("Would create Lima VM 'mig'");
    expect(run.stdout).toMatch(/· \[bring-up\] crossnix vm create mig: create and start the VM/);
    expect(run.stdout).toContain("· [retire] ssh:old: crossnix builder remove old");
    expect(lima.calls.some((c) => c.includes("create"))).toBe(false);
    expect(sandbox.readFile("/etc/nix/machines")).toBe(machines);
  });

  it("the VM does not start: nothing is retired and the old builder still builds", async () => {
    lima.hangOnStartMs = 300;
    let run: Awaited<ReturnType<typeof crossnix>>;
    try {
      run = await crossnix(["migrate", "--from", "ssh:old", "--to", "lima:mig", "--yes", "--json"]);
    } finally {
      lima.hangOnStartMs = null;
    }
    expect(run.exitCode, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as Migration;
    expect(result.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "failed"],
      ["retire", "skipped"],
    ]);
    expect(result.steps[0]!.text).toContain("Lima VM mig did not come up: limactl start mig failed");
    expect(result).toMatchObject({ proven: null, retired: false });
    expect(sandbox.readFile("/etc/nix/machines")).toMatch(/^ssh-ng:\/\/old .* # crossnix:old$/m);
    expect(sandbox.exists("/etc/nix/crossnix/vms/mig.json")).toBe(false);
    const builds = await buildsOn();
    expect(builds.map((b) => b.builder)).toEqual(["old"]);
    expect(old.hasBuildLog(builds[0]!.drv)).toBe(true);
  });

  it("run again: the half-made VM is resumed and proven, then the old builder is removed", async () => {
    const run = await crossnix(["migrate", "--from", "ssh:old", "--to", "lima:mig", "--yes", "--json"]);
    expect(run.exitCode, `${run.stderr}\n${run.stdout}`.slice(-3000)).toBe(0);
    const result = JSON.parse(run.stdout) as Migration;
    expect(result.steps.map((s) => `${s.phase} ${s.status}: ${s.text.replace(/127\.0\.0\.1:\d+/, "PORT")}`)).toEqual([
      "bring-up done: Lima VM mig: resumed a half-made VM, started, nix already installed, registered; builder lima-mig (aarch64-linux, x86_64-linux) on PORT",
      "prove done: built aarch64-linux, x86_64-linux on lima-mig",
      "retire done: builder old removed (entry, ssh alias, pinned and dedicated keys)",
    ]);
    expect(result).toMatchObject({ proven: true, retired: true });
    const machines = sandbox.readFile("/etc/nix/machines");
    expect(machines).not.toContain("# crossnix:old");
    expect(machines).toContain(lima.instance("mig")!.builder.hostKeyBase64);
    expect(sandbox.readFile("/etc/ssh/ssh_config.d/crossnix.conf")).not.toMatch(/^Host old$/m);
    // crossnix never deletes a key it did not make (--identity was the person's own).
    expect(sandbox.exists(CLIENT_KEY)).toBe(true);
    const builds = await buildsOn();
    expect(builds.map((b) => b.builder)).toEqual(["lima-mig"]);
    expect(lima.instance("mig")!.builder.hasBuildLog(builds[0]!.drv)).toBe(true);
  });

  it("the VM crossnix made is the target: started if stopped, proven by doctor's build, never retired itself", async () => {
    expect((await crossnix(["vm", "stop", "mig"])).exitCode).toBe(0);
    const run = await crossnix(["migrate", "--to", "lima:mig", "--yes", "--json"]);
    expect(run.exitCode, `${run.stderr}\n${run.stdout}`.slice(-3000)).toBe(0);
    const result = JSON.parse(run.stdout) as Migration;
    expect(result.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "done"],
      ["prove", "done"],
    ]);
    expect(result.steps[0]!.text).toBe("Lima VM mig (made by crossnix, builder lima-mig): started");
    expect(result.steps[1]!.text).toMatch(/^built on lima-mig: /);
    expect(result).toMatchObject({ proven: true, retired: true });
    expect(lima.instance("mig")!.running).toBe(true);
    expect(sandbox.exists("/etc/nix/crossnix/vms/mig.json")).toBe(true);
  });
});
