// Checks the systems given to `crossnix emulate`: known to QEMU user emulation and not native here.
import { badInput } from "../../errors.js";
import { EMULATABLE_SYSTEMS, emulatedCpu, nativeSystems } from "./systems.js";

/** The system a machine most likely wants emulated when none is named: the other 64-bit Linux. */
export function defaultEmulatedSystem(hostSystem: string): string {
  return hostSystem === "aarch64-linux" ? "x86_64-linux" : "aarch64-linux";
}

/** The systems to act on, each checked (exit 2, nothing written); the default when none is given. */
export function parseEmulatedSystems(args: string[], hostSystem: string): string[] {
  const systems = args.length > 0 ? [...new Set(args)] : [defaultEmulatedSystem(hostSystem)];
  for (const system of systems) {
    if (!emulatedCpu(system)) {
      throw badInput(
        "system",
        system,
        "crossnix cannot emulate it with QEMU user emulation",
        `one of: ${EMULATABLE_SYSTEMS.join(", ")}`,
      );
    }
    if (nativeSystems(hostSystem).includes(system)) {
      throw badInput("system", system, `this ${hostSystem} machine builds it natively, without emulation`);
    }
  }
  return systems;
}
