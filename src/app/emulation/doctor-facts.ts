// What doctor learns about emulated systems: extra-platforms as the daemon reads it, and binfmt_misc.
import type { EmulationDoctorFacts } from "../../core/doctor/vm-emulation.js";
import { registerCommand } from "../../core/emulation/install.js";
import { effectiveExtraPlatforms } from "../../core/emulation/plan.js";
import { readOsRelease } from "../../host/emulation/os-release.js";
import { emulatedCpu, nativeSystems } from "../../core/emulation/systems.js";
import { nixSystemFor } from "../../core/nix/systems.js";
import type { ConfigLayer } from "../../core/nix/settings.js";
import type { Host } from "../../host/system/host.js";
import { emulationFacts } from "./status.js";

export async function gatherEmulationFacts(host: Host, systemLayers: ConfigLayer[]): Promise<EmulationDoctorFacts> {
  const hostSystem = nixSystemFor(host.platform, host.arch);
  if (host.platform === "darwin") {
    const linux = effectiveExtraPlatforms(systemLayers, hostSystem).filter((s) => s.endsWith("-linux"));
    return { platform: "darwin", emulated: linux.map((system) => ({ system, interpreter: false })), install: null };
  }
  if (host.platform !== "linux") return { platform: host.platform, emulated: [], install: null };
  // A configuration Nix rejects is config.nix-conf's finding; this check then has nothing to add.
  const facts = await emulationFacts(host, null).catch(() => null);
  if (!facts) return { platform: "linux", emulated: [], install: null };
  const native = nativeSystems(facts.hostSystem);
  const emulated = facts.extraPlatforms
    .filter((s) => emulatedCpu(s) && !native.includes(s))
    .map((system) => ({ system, interpreter: facts.systems.find((x) => x.system === system)?.state === "ready" }));
  // An interpreter installed but not registered is fixed by registering it, as emulate enable says.
  const firstBroken = emulated.find((e) => !e.interpreter);
  const cpu = firstBroken ? emulatedCpu(firstBroken.system)!.qemuCpu : null;
  const register =
    cpu && (await host.exists(`/usr/bin/qemu-${cpu}-static`)) ? registerCommand(await readOsRelease(host), cpu) : null;
  return { platform: "linux", emulated, install: register ?? facts.install };
}
