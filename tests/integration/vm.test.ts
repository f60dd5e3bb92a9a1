// `crossnix vm` end to end against the limactl stand-in (testbed/lima-standin.ts): its "VMs" are real
// test-bed builders (sshd + their own Nix store) behind a forwarder on the pinned 127.0.0.1 port, so
// create → build → stop → build refused → start → build → delete runs over real SSH and Nix 2.8.
// crossnix runs as root in the sandbox acting as macOS (CROSSNIX_PLATFORM=darwin); the stand-in is
// told it runs as cxclient (LIMA_STANDIN_AS_USER) because real Lima refuses root.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertTestbedReady, BUSYBOX_DIR, createSandbox, LimaStandin, newNonce, type Sandbox } from "#testbed";
// Aliased: biome reads a top-level use…() call as a React hook.
import { useTestBed as registerTestBed } from "#testbed/vitest";
import { REPO } from "../helpers/cli.js";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = registerTestBed();
const FLEET = path.join(REPO, "tests/fixtures/nix/fleet.nix");
const STD_PATH = "/usr/local/bin:/usr/bin:/bin";
// Settings the builder needs are there already, so registering changes no setting and needs no
// daemon restart (which on "macOS" would be launchctl, absent here).
const NIX_CONF = "max-jobs = 0\nbuilders = @/etc/nix/machines\nbuilders-use-substitutes = true\n";

let sandbox: Sandbox;
let lima: LimaStandin;

const mac = (standin: LimaStandin, extra: Record<string, string> = {}) => ({
  ...standin.env(STD_PATH),
  CROSSNIX_PLATFORM: "darwin",
  CROSSNIX_ARCH: "arm64",
  ...extra,
});
const crossnix = (args: string[], env: Record<string, string> = mac(lima)) => crossnixIn(sandbox, args, { env });
const armBuild = () => ["--", "-f", FLEET, "arm", "--argstr", "nonce", newNonce(), "--arg", "busybox", BUSYBOX_DIR];

beforeAll(async () => {
  assertTestbedReady();
  sandbox = await createSandbox({ nixConf: NIX_CONF });
  lima = await LimaStandin.start({ version: "2.2.0" });
});
afterAll(async () => {
  await lima?.stop();
});

describe.skipIf(!ready)("vm on Lima 2.2 (stand-in)", () => {
  it("create → build → stop → build refused with the fix → start → build → delete", async () => {
    const created = await crossnix([
      "vm",
      "create",
      "nixb",
      "--cpus",
      "2",
      "--memory",
      "4",
      "--disk",
      "30",
      "--yes",
      "--verbose",
    ]);
    expect(created.exitCode, created.stderr + created.stdout).toBe(0);
    expect(created.stdout).toContain("Built aarch64-linux on 'lima-nixb'");
    expect(created.stdout).toContain("Built x86_64-linux on 'lima-nixb'");
    // Progress for each long step, on stderr (shown on a terminal, or with --verbose).
    expect(created.stderr).toMatch(/Creating Lima VM 'nixb'[\s\S]*Starting 'nixb'[\s\S]*Installing Nix in 'nixb'/);

    const create = lima.calls.find((c) => c.includes("create"))!;
    expect(create).toEqual(
      expect.arrayContaining([
        "--tty=false",
        "--vm-type=vz",
        "--mount-none",
        "--containerd=none",
        "--rosetta",
        "--ssh-port",
      ]),
    );
    const record = JSON.parse(sandbox.readFile("/etc/nix/crossnix/vms/nixb.json"));
    expect(record).toMatchObject({
      name: "nixb",
      builderName: "lima-nixb",
      cpus: 2,
      memoryGiB: 4,
      diskGiB: 30,
      rosetta: true,
    });
    expect([31022, 31122, 31222, 60022]).not.toContain(record.sshPort);
    expect(create[create.indexOf("--ssh-port") + 1]).toBe(String(record.sshPort));

    const vm = lima.instance("nixb")!;
    const machines = sandbox.readFile("/etc/nix/machines");
    expect(machines).toContain("ssh-ng://");
    expect(machines).toContain(vm.builder.hostKeyBase64); // the guest's key, pinned
    const alias = sandbox.readFile("/etc/ssh/ssh_config.d/crossnix.conf");
    expect(alias).toMatch(/Host lima-nixb\n[\s\S]*HostName 127\.0\.0\.1\n\s*Port \d+/);
    expect(alias).not.toMatch(/StrictHostKeyChecking\s+no/i);

    const built = await crossnix(["build", "--json", ...armBuild()]);
    expect(built.exitCode, built.stderr).toBe(0);
    const result = JSON.parse(built.stdout) as { builds: { drv: string; builder: string }[] };
    expect(result.builds.map((b) => b.builder)).toEqual(["lima-nixb"]);
    expect(vm.builder.hasBuildLog(result.builds[0]!.drv)).toBe(true);

    expect((await crossnix(["vm", "stop", "nixb"])).exitCode).toBe(0);
    expect(lima.instance("nixb")!.running).toBe(false);
    const doctor = await crossnix(["doctor", "--no-build", "--json"]);
    const vmCheck = (
      JSON.parse(doctor.stdout) as { checks: { id: string; status: string; fix?: { command?: string } }[] }
    ).checks.find((c) => c.id === "config.vm");
    expect(vmCheck).toMatchObject({ status: "fail", fix: { command: "crossnix vm start nixb" } });

    const refused = await crossnix(["build", ...armBuild()]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("the VM 'nixb' (builder 'lima-nixb') is not running");
    expect(refused.stderr).toContain("crossnix vm start nixb");

    const again = await crossnix(["build", "--start-vms", "--json", ...armBuild()]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(lima.instance("nixb")!.running).toBe(true);
    expect((JSON.parse(again.stdout) as typeof result).builds.map((b) => b.builder)).toEqual(["lima-nixb"]);

    const status = await crossnix(["vm", "status", "nixb", "--json"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).vms[0]).toMatchObject({
      managed: true,
      lima: { status: "Running", cpus: 2, memoryGiB: 4, diskGiB: 30, rosetta: true, sshPort: record.sshPort },
      builder: { name: "lima-nixb", inMachines: true, enabled: true, sshAnswers: true },
    });

    const deleted = await crossnix(["vm", "delete", "nixb", "--yes"]);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(lima.instance("nixb")).toBeNull();
    expect(sandbox.exists("/etc/nix/crossnix/vms/nixb.json")).toBe(false);
    expect(sandbox.readFile("/etc/nix/machines")).not.toContain("lima-nixb");
    expect(sandbox.readFile("/etc/ssh/ssh_config.d/crossnix.conf")).not.toContain("lima-nixb");
    expect(sandbox.readFile("/etc/nix/crossnix/known_hosts")).not.toContain("lima-nixb");
    // Lima's own key is Lima's: delete leaves it.
    expect(fs.existsSync(lima.userKeyPath)).toBe(true);
  });

  it("an interrupted create is resumed by running it again; a Lima VM crossnix did not make is left alone", async () => {
    lima.hangOnStartMs = 300; // the first run fails at its start step, after limactl create
    let first: Awaited<ReturnType<typeof crossnix>>;
    try {
      first = await crossnix(["vm", "create", "half", "--yes"]);
    } finally {
      lima.hangOnStartMs = null;
    }
    expect(first.exitCode).toBe(1);
    expect(lima.instance("half")).not.toBeNull();
    expect(sandbox.exists("/etc/nix/crossnix/vms/half.json")).toBe(false);

    const second = await crossnix(["vm", "create", "half", "--yes"]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain("resumed a half-made VM, started");
    expect(lima.calls.filter((c) => c.includes("create") && c.includes("--name=half"))).toHaveLength(1);
    expect((await crossnix(["vm", "delete", "half", "--yes"])).exitCode).toBe(0);

    // Someone's own Lima VM of the same name: refused, exit 2, untouched.
    expect(
      (
        await sandbox.run(["limactl", "--tty=false", "create", "--name=mine", "template://default"], {
          env: lima.env(STD_PATH),
        })
      ).exitCode,
    ).toBe(0);
    const theirs = await crossnix(["vm", "create", "mine", "--yes"]);
    expect(theirs.exitCode).toBe(2);
    expect(theirs.stderr).toContain("crossnix did not make it");
    expect((await crossnix(["vm", "delete", "mine", "--yes"])).exitCode).toBe(2);
    expect(lima.instance("mine")).not.toBeNull();
  });

  it("never calls limactl start for a VM that does not exist (Lima would create an Ubuntu VM)", async () => {
    const run = await crossnix(["vm", "start", "ghost"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("there is no Lima VM named 'ghost'");
    expect(lima.instance("ghost")).toBeNull();
    expect(lima.calls.some((c) => c.includes("start") && c.includes("ghost"))).toBe(false);
  });

  it("bad input is exit 2 and creates nothing", async () => {
    const before = lima.calls.length;
    for (const args of [
      ["Bad_Name"],
      ["ok", "--cpus", "0"],
      ["ok", "--memory", "9999"],
      ["ok", "--systems", "riscv64-linux"],
    ]) {
      const run = await crossnix(["vm", "create", ...args, "--yes"]);
      expect(run.exitCode, args.join(" ")).toBe(2);
      expect(run.stderr).toContain("Nothing was written.");
    }
    expect(lima.calls.slice(before).some((c) => c.includes("create"))).toBe(false);
  });

  it("a Broken instance and a start that times out are reported with Lima's words and the next step", async () => {
    const make = (name: string) =>
      sandbox.run(["limactl", "--tty=false", "create", `--name=${name}`, "template://default"], {
        env: lima.env(STD_PATH),
      });
    expect((await make("broke")).exitCode).toBe(0);
    lima.breakInstance("broke");
    const broken = await crossnix(["vm", "start", "broke"]);
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toContain("Lima reports 'broke' as Broken");

    expect((await make("slow")).exitCode).toBe(0);
    lima.hangOnStartMs = 500;
    try {
      const slow = await crossnix(["vm", "start", "slow"]);
      expect(slow.exitCode).toBe(1);
      expect(slow.stderr).toContain('did not receive an event with the "running" status');
      expect(slow.stderr).toContain("crossnix vm delete slow");
    } finally {
      lima.hangOnStartMs = null;
    }
  });
});

describe.skipIf(!ready)("vm on Lima 1.2 (stand-in)", () => {
  it("pins the port with --set, autostarts with start-at-login, refuses --autostart boot; delete undoes both", async () => {
    const v1 = await LimaStandin.start({ version: "1.2.3" });
    try {
      const boot = await crossnix(["vm", "create", "one", "--autostart", "boot", "--yes"], mac(v1));
      expect(boot.exitCode).toBe(2);
      expect(boot.stderr).toContain("--autostart boot needs Lima 2.2 or later");
      const made = await crossnix(["vm", "create", "one", "--no-rosetta", "--autostart", "login", "--yes"], mac(v1));
      expect(made.exitCode, made.stderr).toBe(0);
      expect(made.stdout).toContain("Built aarch64-linux on 'lima-one'");
      const create = v1.calls.find((c) => c.includes("create"))!;
      const port = JSON.parse(sandbox.readFile("/etc/nix/crossnix/vms/one.json")).sshPort;
      expect(create).toContain(`.ssh.localPort = ${port}`);
      expect(create).not.toContain("--ssh-port");
      expect(create).not.toContain("--rosetta");
      expect(v1.instance("one")!.autostart).toBe("login");
      const deleted = await crossnix(["vm", "delete", "one", "--yes"], mac(v1));
      expect(deleted.exitCode, deleted.stderr).toBe(0);
      expect(v1.calls.some((c) => c.includes("start-at-login") && c.includes("--enabled=false"))).toBe(true);
      expect(v1.instance("one")).toBeNull();
    } finally {
      await v1.stop();
    }
  });
});

describe.skipIf(!ready)("vm without a usable Lima", () => {
  it("limactl missing: says what to install", async () => {
    const run = await crossnix(["vm", "create", "--yes"], {
      PATH: STD_PATH,
      CROSSNIX_PLATFORM: "darwin",
      CROSSNIX_ARCH: "arm64",
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("limactl is not installed");
    expect(run.stderr).toContain("brew install lima");
  });

  it("Lima too old (0.23): refused before anything is created", async () => {
    const old = await LimaStandin.start({ version: "0.23.2" });
    try {
      const run = await crossnix(["vm", "create", "--yes"], mac(old));
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain("Lima 0.23.2 is too old");
      expect(old.calls).toEqual([["--version"]]);
    } finally {
      await old.stop();
    }
  });

  it("as root, Lima refuses; crossnix passes its words on with the way out", async () => {
    const asRoot = await LimaStandin.start({ version: "2.1.0", asUser: null });
    try {
      const run = await crossnix(["vm", "create", "--yes"], mac(asRoot));
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain("must not run as the root user");
      expect(run.stderr).toContain("without sudo");
    } finally {
      await asRoot.stop();
    }
  });

  it("on Linux, vm points at emulate and remote builders", async () => {
    const run = await crossnix(["vm", "create", "--yes"], { ...lima.env(STD_PATH), CROSSNIX_PLATFORM: "linux" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("crossnix emulate enable");
  });
});
