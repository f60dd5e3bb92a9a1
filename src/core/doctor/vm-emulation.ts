// Doctor's checks for local Linux builders: crossnix's Lima VMs, and systems emulated through binfmt_misc.
import { type Check, check } from "./types.js";

export interface VmDoctorFacts {
  name: string;
  builderName: string;
  sshPort: number;
  sshAnswers: boolean;
  /** Lima's status, or null when limactl could not tell (missing, or run as root). */
  limaStatus: string | null;
  limaPort: number | null;
  /** Lima has no instance of that name. */
  missing: boolean;
}

/** One check per VM crossnix made: stopped, broken, gone, or forwarded on another port than its entry uses. */
export function vmChecks(vms: VmDoctorFacts[]): Check[] {
  return vms.map((vm) => {
    const title = `VM ${vm.name}`;
    const extra = { builder: vm.builderName };
    if (vm.missing) {
      return check(
        "config.vm",
        "configuration",
        "fail",
        title,
        `Lima has no VM '${vm.name}', but its builder entry '${vm.builderName}' remains`,
        {
          description: "remove the entry (or create the VM again)",
          command: `crossnix vm delete ${vm.name}`,
        },
        extra,
      );
    }
    if (vm.limaStatus === "Broken") {
      return check(
        "config.vm",
        "configuration",
        "fail",
        title,
        `Lima reports '${vm.name}' as Broken`,
        {
          description: "see why with limactl list, then make it again",
          command: `crossnix vm delete ${vm.name} && crossnix vm create ${vm.name}`,
        },
        extra,
      );
    }
    if (vm.limaPort !== null && vm.limaPort !== 0 && vm.limaPort !== vm.sshPort) {
      return check(
        "config.vm",
        "configuration",
        "fail",
        title,
        `Lima forwards SSH on port ${vm.limaPort}, but the builder entry uses ${vm.sshPort}`,
        {
          description: "the entry must use the port Lima forwards; make the VM again with a pinned port",
          command: `crossnix vm delete ${vm.name} && crossnix vm create ${vm.name}`,
        },
        extra,
      );
    }
    if (!vm.sshAnswers) {
      const seen = vm.limaStatus ? `Lima says ${vm.limaStatus}` : "limactl could not be asked";
      return check(
        "config.vm",
        "configuration",
        "fail",
        title,
        `nothing answers SSH on 127.0.0.1:${vm.sshPort} (${seen}): builds for it fail`,
        {
          description: "start it (builds can also start it: crossnix build --start-vms)",
          command: `crossnix vm start ${vm.name}`,
        },
        extra,
      );
    }
    return check(
      "config.vm",
      "configuration",
      "ok",
      title,
      `running; SSH answers on 127.0.0.1:${vm.sshPort}`,
      undefined,
      extra,
    );
  });
}

export interface EmulationDoctorFacts {
  platform: string;
  /** Linux systems in extra-platforms the host cannot run natively, with whether an interpreter runs them. */
  emulated: { system: string; interpreter: boolean }[];
  /** The command that installs interpreters here, if known. */
  install: string | null;
}

/** extra-platforms that Nix would use to run binaries nothing can execute; any Linux system there on macOS. */
export function emulationChecks(f: EmulationDoctorFacts): Check[] {
  if (f.emulated.length === 0) return [];
  const systems = f.emulated.map((e) => e.system);
  if (f.platform === "darwin") {
    return [
      check(
        "config.emulation",
        "configuration",
        "fail",
        "Emulation",
        `extra-platforms lists ${systems.join(", ")}, but macOS cannot run Linux binaries (no binfmt_misc): builds for it fail`,
        {
          description: "take it out of extra-platforms and build Linux on a Linux machine",
          command: "crossnix vm create",
        },
      ),
    ];
  }
  const broken = f.emulated.filter((e) => !e.interpreter).map((e) => e.system);
  if (broken.length) {
    return [
      check(
        "config.emulation",
        "configuration",
        "fail",
        "Emulation",
        `extra-platforms lists ${broken.join(", ")} with no registered interpreter: Nix would start binaries that cannot execute ("cannot execute binary file", exit 126)`,
        {
          description: f.install
            ? "install and register the QEMU interpreters"
            : "register a QEMU interpreter with binfmt_misc, or stop emulating",
          command: f.install ?? `crossnix emulate disable ${broken.join(" ")}`,
        },
      ),
    ];
  }
  return [check("config.emulation", "configuration", "ok", "Emulation", `${systems.join(", ")} through binfmt_misc`)];
}
