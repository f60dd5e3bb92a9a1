// Doctor's checks for crossnix's Lima VMs and for emulated systems in extra-platforms.
import { describe, expect, it } from "vitest";
import { emulationChecks, type VmDoctorFacts, vmChecks } from "../../src/core/doctor/vm-emulation.js";

const vm = (over: Partial<VmDoctorFacts>): VmDoctorFacts => ({
  name: "nb",
  builderName: "lima-nb",
  sshPort: 31322,
  sshAnswers: true,
  limaStatus: "Running",
  limaPort: 31322,
  missing: false,
  ...over,
});

describe("config.vm", () => {
  it.each([
    [{}, "ok", undefined],
    [{ sshAnswers: false, limaStatus: "Stopped" }, "fail", "crossnix vm start nb"],
    [{ sshAnswers: false, limaStatus: "Broken" }, "fail", "crossnix vm delete nb && crossnix vm create nb"],
    [{ limaPort: 40000 }, "fail", "crossnix vm delete nb && crossnix vm create nb"],
    [{ missing: true, limaStatus: null }, "fail", "crossnix vm delete nb"],
  ])("%j → %s", (over, status, command) => {
    const [c] = vmChecks([vm(over)]);
    expect(c).toMatchObject({ id: "config.vm", status, builder: "lima-nb" });
    expect(c!.fix?.command).toBe(command);
  });
});

describe("config.emulation", () => {
  it("says nothing when nothing is emulated", () => {
    expect(emulationChecks({ platform: "linux", emulated: [], install: null })).toEqual([]);
  });
  it("fails a system in extra-platforms without an interpreter, with the install command", () => {
    const [c] = emulationChecks({
      platform: "linux",
      emulated: [{ system: "aarch64-linux", interpreter: false }],
      install: "sudo apt-get install qemu-user-static binfmt-support",
    });
    expect(c).toMatchObject({
      status: "fail",
      fix: { command: "sudo apt-get install qemu-user-static binfmt-support" },
    });
    expect(c!.observed).toContain("exit 126");
  });
  it("fails Linux systems in extra-platforms on macOS", () => {
    const [c] = emulationChecks({
      platform: "darwin",
      emulated: [{ system: "aarch64-linux", interpreter: false }],
      install: null,
    });
    expect(c).toMatchObject({ status: "fail", fix: { command: "crossnix vm create" } });
    expect(c!.observed).toContain("no binfmt_misc");
  });
});
