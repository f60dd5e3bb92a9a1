// The doctor use case (runDoctor, planDoctorFix) against a Host in a temp root.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planDoctorFix, runDoctor } from "../../src/app/doctor.js";
import { autoFixes } from "../../src/core/doctor/fixes.js";
import { CHECKS, type CheckGroup } from "../../src/core/doctor/types.js";
import { createHost, type Host } from "../../src/host/system/host.js";

// doctor in-process on a temp-rooted machine: no SSH (one builder is disabled, the other not an SSH
// store), no builds.

let root: string;
let host: Host;
const progress: string[] = [];
const ctx = () => ({ host, progress: (m: string) => progress.push(m) });

async function put(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), text);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-doctor-"));
  await put("/etc/nix/nix.conf", "builders = @/etc/nix/machines\n");
  await put(
    "/etc/nix/machines",
    [
      "# crossnix-disabled: ssh-ng://nix@big.example x86_64-linux - 4 1 - - - # crossnix:big",
      // Not an SSH store: doctor says so and never connects, but Nix counts it as a builder.
      "unix:///run/other-daemon aarch64-linux - 1 1 - - - # crossnix:local-vm",
      "",
    ].join("\n"),
  );
  host = createHost({ ...process.env, CROSSNIX_ROOT: root });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("runDoctor", () => {
  it("reports every check under an id of the CHECKS table, grouped in report order", async () => {
    const report = await runDoctor(ctx(), { builder: null, build: false, timeoutSeconds: 3 });
    for (const c of report.checks) {
      expect(Object.keys(CHECKS), c.id).toContain(c.id);
      expect(c.group, c.id).toBe(CHECKS[c.id].group);
    }
    const order: CheckGroup[] = ["local", "configuration", "cache", "builder", "end-to-end"];
    const groups = report.checks.map((c) => order.indexOf(c.group));
    expect(groups).toEqual([...groups].sort((a, b) => a - b));
    // Local and configuration checks come in the table's order (max-jobs-zero among them).
    const configIds = report.checks.filter((c) => c.group === "configuration").map((c) => c.id);
    const tableOrder = Object.keys(CHECKS).filter((id) => configIds.includes(id as never));
    expect(configIds).toEqual(tableOrder);
    expect(progress[0]).toBe("Checking local Nix and its configuration…");
  });

  it("disabled and non-SSH builders are not connected to: one skip each, no facts", async () => {
    const report = await runDoctor(ctx(), { builder: null, build: true, timeoutSeconds: 3 });
    expect(report.builders.map((b) => [b.builder.name, b.facts])).toEqual([
      ["big", null],
      ["local-vm", null],
    ]);
    const builderChecks = report.checks.filter((c) => c.group === "builder");
    expect(builderChecks.map((c) => [c.id, c.builder, c.status])).toEqual([
      ["builder.enabled", "big", "skip"],
      ["builder.connect", "local-vm", "skip"],
    ]);
    expect(report.checks.filter((c) => c.group === "end-to-end").map((c) => [c.id, c.observed])).toEqual([
      ["e2e.build", "no builders to build on"],
    ]);
  });

  it("--no-build skips the end-to-end builds", async () => {
    const report = await runDoctor(ctx(), { builder: null, build: false, timeoutSeconds: 3 });
    expect(report.checks.filter((c) => c.id === "e2e.build").map((c) => [c.status, c.observed])).toEqual([
      ["skip", "skipped (--no-build)"],
    ]);
  });

  it("an unknown --builder is an error naming the builders there are", async () => {
    await expect(runDoctor(ctx(), { builder: "ghost", build: false, timeoutSeconds: 3 })).rejects.toMatchObject({
      message: expect.stringContaining("ghost"),
    });
  });
});

describe("planDoctorFix", () => {
  it("turns the auto fixes into one plan on the temp-rooted files, writing nothing", async () => {
    const report = await runDoctor(ctx(), { builder: null, build: false, timeoutSeconds: 3 });
    const fixes = autoFixes(report.checks).filter((f) => f.kind !== "pin-host-key");
    const substitutes = report.checks.find((c) => c.id === "config.builders-use-substitutes");
    expect(substitutes?.fix?.auto).toMatchObject({ kind: "set-setting", name: "builders-use-substitutes" });
    const { plan } = await planDoctorFix(host, report, fixes);
    const change = plan.files.find((f) => f.after?.includes("builders-use-substitutes = true"));
    expect(change?.path).toMatch(/^\/etc\/nix\/nix(\.custom)?\.conf$/);
  });
});
