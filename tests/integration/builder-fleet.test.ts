// builder add / probe / list on real builders: crossnix runs inside the test bed's sandbox root,
// so it writes the real /etc/nix and /etc/ssh paths that the local root daemon reads, and a
// non-root client's nix-build really goes through that daemon to the builders.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  buildProbe,
  clientIdentity,
  createSandbox,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();
const CLIENT_KEY = "/etc/nix/testbed_client_ed25519";

describe.skipIf(!ready)("builders on the test bed", () => {
  let b1: Builder;
  let b2: Builder;
  let sandbox: Sandbox;

  const crossnix = (args: string[], input?: string) => crossnixIn(sandbox, args, input ? { input } : {});
  const etc = () => ({
    machines: sandbox.exists("/etc/nix/machines") ? sandbox.readFile("/etc/nix/machines") : null,
    conf: sandbox.readFile("/etc/nix/nix.conf"),
    alias: sandbox.exists("/etc/ssh/ssh_config.d/crossnix.conf")
      ? sandbox.readFile("/etc/ssh/ssh_config.d/crossnix.conf")
      : null,
  });

  beforeAll(async () => {
    assertTestbedReady();
    [b1, b2] = (await startBuilders([
      { systems: ["x86_64-linux"] },
      { systems: ["x86_64-linux", "aarch64-linux"] },
    ])) as [Builder, Builder];
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    const id = await clientIdentity();
    const key = fs.readFileSync(id.privateKeyPath, "utf8");
    // Root's own login (used to probe before the daemon's key exists, and by --copy-key) and a key
    // to hand over with --identity.
    sandbox.writeFile("/root/.ssh/id_ed25519", key, 0o600);
    sandbox.writeFile(CLIENT_KEY, key, 0o600);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("adds builder 1 (port 2201) by probing, with a new dedicated key installed by --copy-key", async () => {
    const run = await crossnix([
      "builder",
      "add",
      `${b1.user}@${b1.address}:${b1.port}`,
      "--name",
      "one",
      "--copy-key",
      "--yes",
    ]);
    expect(run.exitCode, `${run.stderr}\n${run.stdout}`.slice(-1500)).toBe(0);
    expect(run.stdout).toContain("Authorised the daemon's key on the builder.");
    expect(run.stdout).toMatch(
      /Verified: root reaches 'one' with its key and the pinned host key \(Nix 2\.8\.0, x86_64-linux\)/,
    );
    const { machines } = etc();
    expect(machines).toMatch(
      new RegExp(
        `^ssh-ng://one x86_64-linux /etc/nix/crossnix/one_ed25519 2 - benchmark,big-parallel,nixos-test - ${b1.hostKeyBase64.replace(/[+/=]/g, "\\$&")} # crossnix:one$`,
        "m",
      ),
    );
    // the dedicated key is root's, 0600, and really authorised on the builder
    const key = fs.statSync(sandbox.path("/etc/nix/crossnix/one_ed25519"));
    expect([key.mode & 0o777, key.uid]).toEqual([0o600, 0]);
    const pub = sandbox.readFile("/etc/nix/crossnix/one_ed25519.pub").trim();
    expect(fs.readFileSync(`${b1.homeDir}/.ssh/authorized_keys`, "utf8")).toContain(pub);
  });

  it("adds builder 2 with an existing identity; systems come from the probe", async () => {
    const run = await crossnix([
      "builder",
      "add",
      `ssh-ng://${b2.user}@${b2.address}:${b2.port}`,
      "--name",
      "two",
      "--identity",
      CLIENT_KEY,
      "--yes",
    ]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(etc().machines).toMatch(/^ssh-ng:\/\/two x86_64-linux,aarch64-linux \/etc\/nix\/testbed_client_ed25519 2 /m);
    const conf = etc().conf;
    expect(conf).toContain("builders = @/etc/nix/machines");
    expect(conf).toContain("builders-use-substitutes = true");
  });

  it("restarted the daemon so a non-root client's builds go to the builders, aarch64 to builder 2", async () => {
    const arm = await buildProbe(sandbox, "aarch64-linux");
    expect(arm.result.exitCode, arm.result.stderr).toBe(0);
    expect(arm.output).toMatchObject({ system: "aarch64-linux", machine: "aarch64", user: b2.user });
    expect(b2.hasBuildLog(arm.drvPath!)).toBe(true);
    expect(b1.hasBuildLog(arm.drvPath!)).toBe(false);
    const x86 = await buildProbe(sandbox, "x86_64-linux");
    expect(x86.result.exitCode, x86.result.stderr).toBe(0);
    expect([b1.user, b2.user]).toContain(x86.output?.user);
  });

  it("plain `ssh <name>` as root works, with the pinned key and nothing weakened", async () => {
    const run = await sandbox.run(["ssh", "-o", "BatchMode=yes", "one", "echo", "hello-from-$(id -un)"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`hello-from-${b1.user}`);
    expect(sandbox.readFile("/etc/nix/crossnix/known_hosts")).toContain(
      `one ${b1.hostKey.split(" ").slice(0, 2).join(" ")}`,
    );
  });

  it("re-adding is a no-op", async () => {
    const before = etc();
    const run = await crossnix(["builder", "add", `${b1.user}@${b1.address}:${b1.port}`, "--name", "one", "--yes"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("Nothing to change");
    expect(etc()).toEqual(before);
  });

  it("probes every builder concurrently as the daemon connects", async () => {
    const run = await crossnix(["builder", "probe", "--json"]);
    expect(run.exitCode, run.stderr).toBe(0);
    const { builders } = JSON.parse(run.stdout) as {
      builders: {
        name: string;
        ok: boolean;
        facts: { systems: string[]; trusted: boolean; nixVersion: string; cpus: number };
      }[];
    };
    expect(builders.map((b) => [b.name, b.ok])).toEqual([
      ["one", true],
      ["two", true],
    ]);
    expect(builders[1]!.facts.systems).toContain("aarch64-linux");
    expect(builders[1]!.facts.trusted).toBe(true);
    expect(builders[0]!.facts.nixVersion).toBe("2.8.0");
  });

  it("a changed host key fails with the fingerprints and writes nothing", async () => {
    const before = etc();
    await b1.setFault("hostKeyChanged");
    try {
      const run = await crossnix(["builder", "add", `${b1.user}@${b1.address}:${b1.port}`, "--name", "one", "--yes"]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/the host key of 'one' changed: pinned SHA256:\S+, now SHA256:/);
      expect(run.stderr).toContain("impersonation");
      expect(etc()).toEqual(before);
      const probe = await crossnix(["builder", "probe", "one"]);
      expect(probe.exitCode).toBe(1);
      expect(probe.stdout).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    } finally {
      await b1.setFault("hostKeyChanged", false);
    }
  });

  it("--host-key refuses a server presenting another key", async () => {
    const other = Buffer.from(b2.hostKey).toString("base64");
    const run = await crossnix([
      "builder",
      "add",
      `${b1.user}@${b1.address}:${b1.port}`,
      "--name",
      "pinned",
      "--host-key",
      other,
      "--yes",
    ]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("presented a different host key than --host-key");
    expect(etc().machines).not.toContain("crossnix:pinned");
  });

  it("a stopped builder fails clearly and writes nothing; probe reports it refused", async () => {
    const before = etc();
    await b1.setFault("stopped");
    try {
      const run = await crossnix(["builder", "add", `${b1.user}@${b1.address}:${b1.port}`, "--name", "again", "--yes"]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`cannot reach ${b1.address}:${b1.port}`);
      expect(etc()).toEqual(before);
      const probe = await crossnix(["builder", "probe", "--json"]);
      expect(probe.exitCode).toBe(1);
      const { builders } = JSON.parse(probe.stdout) as {
        builders: { name: string; ok: boolean; error?: { cause: string } }[];
      };
      expect(builders.find((b) => b.name === "one")).toMatchObject({ ok: false, error: { cause: "refused" } });
      expect(builders.find((b) => b.name === "two")?.ok).toBe(true);
    } finally {
      await b1.setFault("stopped", false);
    }
  });

  it("an untrusted SSH user is refused with the remote trusted-users fix, and nothing is written", async () => {
    const [b3] = (await startBuilders([{ systems: ["x86_64-linux"], multiUser: true, faults: ["untrusted"] }])) as [
      Builder,
    ];
    const before = etc();
    const run = await crossnix([
      "builder",
      "add",
      `${b3.user}@${b3.address}:${b3.port}`,
      "--name",
      "three",
      "--identity",
      CLIENT_KEY,
      "--yes",
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain(`${b3.user} is not a trusted user of the builder's Nix daemon`);
    expect(run.stderr).toContain(`trusted-users = root ${b3.user}`);
    expect(run.stderr).toContain("crossnix builder setup-remote");
    expect(etc()).toEqual(before);
    await b3.stop();
  });

  it("list shows both builders with fingerprints; remove cleans up entry, alias and the dedicated key only", async () => {
    const list = JSON.parse((await crossnix(["builder", "list", "--json"])).stdout) as {
      builders: { name: string; hostKeyFingerprint: string }[];
    };
    expect(list.builders.map((b) => b.name)).toEqual(["one", "two"]);
    const removeOne = await crossnix(["builder", "remove", "one", "--yes"]);
    expect(removeOne.exitCode, removeOne.stderr).toBe(0);
    expect(sandbox.exists("/etc/nix/crossnix/one_ed25519")).toBe(false);
    const removeTwo = await crossnix(["builder", "remove", "two", "--yes"]);
    expect(removeTwo.exitCode, removeTwo.stderr).toBe(0);
    expect(sandbox.exists(CLIENT_KEY)).toBe(true); // --identity keys are the user's
    expect(etc().machines).toBe("");
    expect(etc().alias).toBe("");
  });
});
