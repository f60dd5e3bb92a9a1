// `emulate status` and the facts enable/disable start from: binfmt_misc, extra-platforms, the sandbox.
import type { BinfmtEntry } from "../../core/emulation/binfmt.js";
import { entryFor, hasFixBinaryFlag } from "../../core/emulation/binfmt.js";
import { installCommand } from "../../core/emulation/install.js";
import { parseEmulatedSystems } from "../../core/emulation/request.js";
import { effectiveExtraPlatforms, sandboxOn } from "../../core/emulation/plan.js";
import { EMULATABLE_SYSTEMS, emulatedCpu, nativeSystems } from "../../core/emulation/systems.js";
import { CrossnixError } from "../../errors.js";
import { type BinfmtState, readBinfmt } from "../../host/emulation/binfmt.js";
import { onNixos, readOsRelease } from "../../host/emulation/os-release.js";
import { loadConfigState, type ConfigState } from "../../host/state.js";
import type { Host } from "../../host/system/host.js";

export type EmulationState = "ready" | "not-configured" | "no-interpreter" | "configured-without-interpreter";

export interface EmulatedSystemStatus {
  system: string;
  /** The binfmt_misc entry that runs its binaries (enabled or not), null when none is registered. */
  entry: Pick<BinfmtEntry, "name" | "interpreter" | "flags" | "enabled"> | null;
  interpreterExists: boolean;
  fixBinary: boolean;
  inExtraPlatforms: boolean;
  state: EmulationState;
}

export interface EmulationFacts {
  hostSystem: string;
  nixos: boolean;
  binfmt: { mounted: boolean; enabled: boolean };
  sandbox: boolean;
  extraPlatforms: string[];
  /** The command that installs and registers the interpreters here, null when the distribution is unknown. */
  install: string | null;
  systems: EmulatedSystemStatus[];
  state: ConfigState;
  binfmtState: BinfmtState;
}

/** Refuses on macOS (no binfmt_misc) with what works there instead (docs/emulation.md#macos). */
export function refuseOffLinux(host: Host): void {
  if (host.platform === "linux") return;
  if (host.platform === "darwin") {
    throw new CrossnixError(
      "UNSUPPORTED",
      "QEMU user emulation of Linux does not exist on macOS: the macOS kernel has no binfmt_misc to run Linux binaries",
      {
        hint: "build Linux on a Linux machine instead: crossnix vm create (a local Lima VM), Determinate's native Linux builder, or crossnix builder add user@host",
        detail: { commands: ["crossnix vm create", "crossnix builder add <user@host>"] },
        nothingWritten: true,
      },
    );
  }
  throw new CrossnixError("UNSUPPORTED", `QEMU user emulation through binfmt_misc needs Linux, not ${host.platform}`, {
    nothingWritten: true,
  });
}

export async function emulationFacts(host: Host, only: string[] | null): Promise<EmulationFacts> {
  const state = await loadConfigState(host, { nixVersion: false });
  const hostSystem = state.info.system;
  const release = await readOsRelease(host);
  const binfmtState = await readBinfmt(host);
  const extraPlatforms = effectiveExtraPlatforms(state.systemLayers, hostSystem);
  const native = nativeSystems(hostSystem);
  const candidates = only ?? EMULATABLE_SYSTEMS.filter((s) => !native.includes(s));
  const systems: EmulatedSystemStatus[] = [];
  for (const system of candidates) {
    const entry = entryFor(binfmtState.entries, emulatedCpu(system)!);
    const interpreterExists = entry ? await host.exists(entry.interpreter) : false;
    const runs = binfmtState.enabled && entry?.enabled === true && interpreterExists;
    const inExtraPlatforms = extraPlatforms.includes(system);
    const state: EmulationState = runs
      ? inExtraPlatforms
        ? "ready"
        : "not-configured"
      : inExtraPlatforms
        ? "configured-without-interpreter"
        : "no-interpreter";
    // Without a filter, list only systems something is known about.
    if (only === null && !entry && !inExtraPlatforms) continue;
    systems.push({
      system,
      entry: entry
        ? { name: entry.name, interpreter: entry.interpreter, flags: entry.flags, enabled: entry.enabled }
        : null,
      interpreterExists,
      fixBinary: entry ? hasFixBinaryFlag(entry) : false,
      inExtraPlatforms,
      state,
    });
  }
  return {
    hostSystem,
    nixos: await onNixos(host, release),
    binfmt: { mounted: binfmtState.mounted, enabled: binfmtState.enabled },
    sandbox: sandboxOn(state.systemLayers),
    extraPlatforms,
    install: installCommand(release, emulatedCpu(candidates[0] ?? "aarch64-linux")?.qemuCpu ?? "aarch64"),
    systems,
    state,
    binfmtState,
  };
}

export type EmulationStatusResult = Omit<EmulationFacts, "state" | "binfmtState">;

/** `emulate status`: the facts without the loaded files; named systems are checked like enable's. */
export async function emulationStatus(host: Host, args: string[]): Promise<EmulationStatusResult> {
  refuseOffLinux(host);
  const probe = await emulationFacts(host, null);
  const only = args.length > 0 ? parseEmulatedSystems(args, probe.hostSystem) : null;
  const { state: _state, binfmtState: _binfmt, ...facts } = only ? await emulationFacts(host, only) : probe;
  return facts;
}
