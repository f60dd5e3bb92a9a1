// doctor on the guide's manual setup (tests/helpers/approach-fixtures.ts "manual"): it names the
// system-first lines and the system=host variable for what they are, not only "column #4 is not a float".
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planDoctorFix, runDoctor } from "../../src/app/doctor.js";
import { autoFixes } from "../../src/core/doctor/fixes.js";
import { createHost } from "../../src/host/system/host.js";
import { type Fixture, HOME, makeFixture } from "../helpers/approach-fixtures.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture("manual");
  // The same lines copied into /etc/nix/machines, which Nix does read (and rejects).
  await copyFile(path.join(fixture.root, HOME, ".config/nix/machines"), path.join(fixture.root, "etc/nix/machines"));
});
afterAll(() => fixture.cleanup());

describe("doctor on the guide's manual setup", () => {
  it("says the columns are swapped, with the right line, for /etc/nix/machines", async () => {
    const report = await runDoctor(
      { host: createHost(fixture.env), progress: () => {} },
      { builder: null, build: false, timeoutSeconds: 2 },
    );
    const machines = report.checks.find((c) => c.id === "config.machines-file");
    expect(machines?.status).toBe("fail");
    expect(machines?.observed).toContain("system and URI columns are swapped; features must be comma-separated");
    expect(machines?.observed).toContain(
      "write it as 'ssh-ng://user@remote-builder aarch64-linux - 4 1 big-parallel,kvm,benchmark'",
    );
    const user = report.checks.find((c) => c.id === "config.user-machines-file");
    expect(user?.observed).toContain(`${HOME}/.config/nix/machines (lines 1, 2: system and URI columns are swapped`);
    const legacy = report.checks.find((c) => c.id === "config.legacy-remote-systems");
    expect(legacy?.observed).toContain("in the form system=user@host, which Nix never read");
    expect(legacy?.fix?.command).toBe("crossnix migrate --from manual --to ssh:<user@host>");
  });

  it("--fix comments the guide's lines out of /etc/nix/machines and names the migrate that makes them builders", async () => {
    const host = createHost(fixture.env);
    const report = await runDoctor({ host, progress: () => {} }, { builder: null, build: false, timeoutSeconds: 2 });
    const fixes = autoFixes(report.checks).filter((f) => f.kind === "comment-guide-lines");
    expect(fixes).toEqual([{ kind: "comment-guide-lines", lines: [1, 2], destinations: ["user@remote-builder"] }]);
    const { plan, notDone } = await planDoctorFix(host, report, fixes);
    expect(plan.files.map((f) => [f.path, f.after])).toEqual([
      [
        "/etc/nix/machines",
        "# crossnix migrate (system-first line, replaced): aarch64-linux ssh://user@remote-builder 4 1 big-parallel kvm benchmark\n# crossnix migrate (system-first line, replaced): x86_64-linux ssh://user@remote-builder 4 1 big-parallel kvm benchmark\n",
      ],
    ]);
    expect(notDone).toEqual([
      "the guide's lines are commented out, not yet builders: crossnix migrate --from manual --to ssh:user@remote-builder",
    ]);
  });
});
