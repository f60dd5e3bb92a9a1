// A destination read from a file never reaches ssh, ssh-keyscan or `ssh -G` as an option: `--` comes first.
import os from "node:os";
import { describe, expect, it } from "vitest";
import { builderChecks, type BuilderContext } from "../../src/core/doctor/builder.js";
import { fleetFromMachines } from "../../src/core/builders/fleet.js";
import { parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { gatherBuilder } from "../../src/host/doctor/builder.js";
import type { ExecResult } from "../../src/host/system/exec.js";
import { createHost, type Host } from "../../src/host/system/host.js";
import { scanHostKeys, sshRun } from "../../src/host/builders/ssh.js";

// biome-ignore lint/suspicious/noTemplateCurlyInString: the shell text an attacker would write
const EVIL = "-oProxyCommand=touch${IFS}/tmp/pwned";

/** A host whose programs are recorded, never run. */
function recordingHost(stdout = ""): { host: Host; runs: string[][] } {
  const runs: string[][] = [];
  const host: Host = {
    ...createHost({ ...process.env, CROSSNIX_ROOT: os.tmpdir() }),
    exec: async (argv) => {
      runs.push([...argv]);
      return {
        argv,
        exitCode: 255,
        signal: null,
        stdout,
        stderr: "",
        timedOut: false,
        durationMs: 1,
      } satisfies ExecResult;
    },
  };
  return { host, runs };
}

/** The destination follows a `--` and nothing after it is read as an option. */
function expectDestinationAfterDashes(argv: string[], destination: string): void {
  const at = argv.indexOf(destination);
  expect(at).toBeGreaterThan(0);
  expect(argv[at - 1]).toBe("--");
  expect(argv.indexOf("--")).toBe(at - 1);
}

function builder(line: string) {
  return fleetFromMachines([
    { path: "/etc/nix/machines", model: parseMachinesFile(`${line}\n`, "/etc/nix/machines") },
  ])[0]!;
}

describe("destinations after --", () => {
  it("ssh: the host follows '--' and the remote command follows the host", async () => {
    const { host, runs } = recordingHost();
    await sshRun(host, { host: EVIL, user: "nix", port: 2222 }, "exit 0", { timeoutSeconds: 1 });
    expectDestinationAfterDashes(runs[0]!, EVIL);
    expect(runs[0]!.at(-2)).toBe(EVIL);
  });

  it("ssh-keyscan: the address follows '--'", async () => {
    const { host, runs } = recordingHost();
    await scanHostKeys(host, EVIL, 2222, 1);
    expectDestinationAfterDashes(runs[0]!, EVIL);
    expect(runs[0]!.at(-1)).toBe(EVIL);
  });

  it("doctor's ssh -G: the host follows '--'", async () => {
    const { host, runs } = recordingHost();
    await gatherBuilder(host, builder("ssh://nix@box.example x86_64-linux"), { timeoutSeconds: 1 });
    const sshG = runs.find((argv) => argv[0] === "ssh" && argv.includes("-G"))!;
    expectDestinationAfterDashes(sshG, "box.example");
  });

  it.each([`ssh://${EVIL} x86_64-linux`, `ssh-ng://${EVIL}@box x86_64-linux`])(
    "doctor runs nothing for a machines-file destination that starts with '-' (%s), and fails builder.connect",
    async (line) => {
      const { host, runs } = recordingHost();
      const b = builder(line);
      const facts = await gatherBuilder(host, b, { timeoutSeconds: 1 });
      expect(runs).toEqual([]);
      const ctx: BuilderContext = {
        localSystem: "x86_64-linux",
        localNixVersion: "2.8.0",
        useSubstitutes: true,
        mode: "daemon",
        user: "root",
      };
      const connect = builderChecks(b, facts, ctx).find((c) => c.id === "builder.connect");
      expect(connect?.status).toBe("fail");
      expect(connect?.observed).toContain("starts with '-'");
      expect(connect?.fix?.description).toContain("/etc/nix/machines:1");
    },
  );
});
