// `crossnix emulate` against the real machine: binfmt_misc with qemu-aarch64 (qemu-user-static, flags PF),
// the sandbox's own nix-daemon (Nix 2.8), real aarch64-linux builds on this x86_64 machine.
import { beforeAll, describe, expect, it } from "vitest";
import { assertTestbedReady, buildProbe, createSandbox, type Sandbox } from "#testbed";
// Aliased: biome reads a top-level use…() call as a React hook.
import { useTestBed as registerTestBed } from "#testbed/vitest";
import { crossnixIn } from "../helpers/sandbox-cli.js";

registerTestBed();

let sandbox: Sandbox;
beforeAll(async () => {
  assertTestbedReady();
  sandbox = await createSandbox();
});

describe("emulate on a Linux host", () => {
  it("enable: extra-platforms written, the daemon restarted, aarch64-linux then builds here; disable undoes it", async () => {
    const before = await buildProbe(sandbox, "aarch64-linux");
    expect(before.result.exitCode).not.toBe(0); // no builder, and the daemon does not take aarch64-linux yet
    const daemonBefore = sandbox.daemonPid;

    const enabled = await crossnixIn(sandbox, ["emulate", "enable", "aarch64-linux", "--yes"]);
    expect(enabled.exitCode, enabled.stderr + enabled.stdout).toBe(0);
    expect(enabled.stdout).toMatch(/Built aarch64-linux on this machine through QEMU in/);
    // The test bed's daemon runs with sandbox = false: no interpreter paths are needed.
    expect(sandbox.readFile("/etc/nix/nix.conf")).toContain("\nextra-platforms = i686-linux aarch64-linux\n");
    expect(sandbox.readFile("/etc/nix/nix.conf")).not.toContain("extra-sandbox-paths");

    const after = await buildProbe(sandbox, "aarch64-linux");
    expect(after.result.exitCode, after.result.stderr).toBe(0);
    expect(after.builtOn).toBeUndefined(); // built here, not on a builder
    expect(after.output).toMatchObject({ system: "aarch64-linux", machine: "aarch64" });

    const status = await crossnixIn(sandbox, ["emulate", "status", "--json"]);
    expect(JSON.parse(status.stdout).systems).toEqual([
      expect.objectContaining({ system: "aarch64-linux", state: "ready", fixBinary: true }),
    ]);

    const disabled = await crossnixIn(sandbox, ["emulate", "disable", "--yes"]);
    expect(disabled.exitCode, disabled.stderr).toBe(0);
    expect(sandbox.readFile("/etc/nix/nix.conf")).not.toContain("aarch64-linux");
    expect((await buildProbe(sandbox, "aarch64-linux")).result.exitCode).not.toBe(0);
    expect(daemonBefore).toBeDefined();
  });

  it("doctor: a system in extra-platforms with no interpreter is a failure naming exit 126", async () => {
    const conf = sandbox.readFile("/etc/nix/nix.conf");
    try {
      sandbox.writeFile("/etc/nix/nix.conf", `${conf}extra-platforms = riscv64-linux\n`, 0o644);
      const run = await crossnixIn(sandbox, ["doctor", "--no-build", "--json"]);
      const checks = (
        JSON.parse(run.stdout) as {
          checks: { id: string; status: string; observed: string; fix?: { command?: string } }[];
        }
      ).checks;
      const emulation = checks.find((c) => c.id === "config.emulation");
      expect(emulation).toMatchObject({
        status: "fail",
        fix: { command: "sudo update-binfmts --enable qemu-riscv64" },
      });
      expect(emulation!.observed).toContain("exit 126");
    } finally {
      sandbox.writeFile("/etc/nix/nix.conf", conf, 0o644);
    }
  });

  it("bad input is exit 2 and writes nothing", async () => {
    const conf = sandbox.readFile("/etc/nix/nix.conf");
    const run = await crossnixIn(sandbox, ["emulate", "enable", "mips-linux", "--yes"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("Nothing was written.");
    expect(sandbox.readFile("/etc/nix/nix.conf")).toBe(conf);
  });
});
