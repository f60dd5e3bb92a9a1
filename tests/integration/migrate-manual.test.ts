// migrate --from manual --to ssh:<builder> on the real test bed: the guide's system-first lines in
// /etc/nix/machines (which make Nix reject the whole file), its ~/.config/nix/machines and its
// NIX_REMOTE_SYSTEMS become one probed, pinned builder; a real build proves it before the old lines
// are retired (commented out) and the profile line and user file are named for removal.
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
const HOME = "/home/cxclient";

describe.skipIf(!ready)("migrate from the guide's manual setup to an SSH builder", () => {
  let b: Builder;
  let sandbox: Sandbox;
  let guideLines: string;

  beforeAll(async () => {
    assertTestbedReady();
    [b] = (await startBuilders([{ systems: ["x86_64-linux", "aarch64-linux"] }])) as [Builder];
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    sandbox.writeFile("/root/.ssh/id_ed25519", fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    guideLines = [
      `aarch64-linux ssh://${b.user}@${b.address} 4 1 big-parallel kvm benchmark`,
      `x86_64-linux ssh://${b.user}@${b.address} 4 1 big-parallel kvm benchmark`,
      "",
    ].join("\n");
    sandbox.writeFile("/etc/nix/machines", guideLines);
    // The person's home must be inside the sandbox: crossnix runs as root with HOME set to it.
    sandbox.writeFile(`${HOME}/.config/nix/machines`, guideLines);
    sandbox.writeFile(`${HOME}/.zshrc`, `export NIX_REMOTE_SYSTEMS="aarch64-linux=${b.user}@${b.address}"\n`);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("doctor names the swapped columns before the migration", async () => {
    const run = await crossnixIn(sandbox, ["doctor", "--no-build", "--json"], { env: { HOME } });
    const checks = (JSON.parse(run.stdout) as { checks: { id: string; observed: string }[] }).checks;
    expect(checks.find((c) => c.id === "config.machines-file")?.observed).toContain(
      "system and URI columns are swapped; features must be comma-separated",
    );
  });

  it("brings the builder up, proves it with a real build, then retires the guide's setup", async () => {
    const run = await crossnixIn(
      sandbox,
      ["migrate", "--from", "manual", "--to", `ssh:${b.user}@${b.address}:${b.port}`, "--yes", "--json"],
      { env: { HOME, NIX_REMOTE_SYSTEMS: `aarch64-linux=${b.user}@${b.address}` } },
    );
    expect(run.exitCode, `${run.stderr}\n${run.stdout}`.slice(-3000)).toBe(0);
    const result = JSON.parse(run.stdout) as {
      steps: { phase: string; status: string; text: string }[];
      proven: boolean;
      retired: boolean;
    };
    expect(result.steps.map((s) => [s.phase, s.status])).toEqual([
      ["prepare", "done"],
      ["bring-up", "done"],
      ["prove", "done"],
      ["retire", "for-you"],
      ["retire", "for-you"],
      ["retire", "for-you"],
    ]);
    expect(result.steps.filter((s) => s.phase === "retire").map((s) => s.text.replace(/^[^:]+:[^:]+: /, ""))).toEqual([
      `remove NIX_REMOTE_SYSTEMS (crossnix does not edit shell profiles): ${HOME}/.zshrc:1`,
      `remove a machines file Nix never reads: ${HOME}/.config/nix/machines:1`,
      `remove a machines file Nix never reads: ${HOME}/.config/nix/machines:2`,
    ]);
    expect(result).toMatchObject({ proven: true, retired: true });
    const machines = sandbox.readFile("/etc/nix/machines");
    expect(machines).toContain(
      `# crossnix migrate (system-first line, replaced): aarch64-linux ssh://${b.user}@${b.address}`,
    );
    expect(machines).toMatch(
      new RegExp(
        `^ssh-ng://\\S+ x86_64-linux,aarch64-linux /etc/nix/crossnix/\\S+_ed25519 .* ${b.hostKeyBase64.replace(/[+/=]/g, "\\$&")} # crossnix:\\S+$`,
        "m",
      ),
    );
    // Never edits the shell profile or the user's file.
    expect(sandbox.readFile(`${HOME}/.zshrc`)).toContain("export NIX_REMOTE_SYSTEMS=");
    expect(sandbox.readFile(`${HOME}/.config/nix/machines`)).toBe(guideLines);
  });

  it("the migrated builder takes a client's aarch64-linux build", async () => {
    const build = await buildProbe(sandbox, "aarch64-linux");
    expect(build.result.exitCode, build.result.stderr).toBe(0);
    expect(b.hasBuildLog(build.drvPath!)).toBe(true);
  });
});
