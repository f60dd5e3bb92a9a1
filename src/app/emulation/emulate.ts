// `emulate enable|disable`: check binfmt_misc, plan extra-platforms (+ sandbox paths), restart the daemon, prove it.
import type { Context } from "../../context.js";
import { nixosSnippet, registerCommand } from "../../core/emulation/install.js";
import { readOsRelease } from "../../host/emulation/os-release.js";
import { planEmulation } from "../../core/emulation/plan.js";
import { parseEmulatedSystems } from "../../core/emulation/request.js";
import { emulatedCpu, nativeSystems } from "../../core/emulation/systems.js";
import { CrossnixError } from "../../errors.js";
import { BINFMT_DIR, interpreterPaths } from "../../host/emulation/binfmt.js";
import { type EmulationProof, proveEmulation } from "../../host/emulation/proof.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";
import { loadConfigState } from "../../host/state.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import { type EmulationFacts, emulationFacts, refuseOffLinux } from "./status.js";

export type EmulateContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export interface EmulateResult {
  mode: "enable" | "disable";
  systems: string[];
  /** On NixOS: the option to set instead (nothing written). */
  nixosSnippet: string | null;
  outcome: PlanOutcome | null;
  /** One real build per system after enabling (empty under --dry-run, with --no-build, or for disable). */
  proofs: EmulationProof[];
  /** Systems crossnix has no probe program for (the build proof was skipped). */
  unproved: string[];
}

export async function emulate(
  ctx: EmulateContext,
  mode: "enable" | "disable",
  args: string[],
  options: { build: boolean },
): Promise<EmulateResult> {
  refuseOffLinux(ctx.host);
  const facts = await emulationFacts(ctx.host, null);
  const systems = parseEmulatedSystems(args, facts.hostSystem);
  const base = { mode, systems, outcome: null, proofs: [], unproved: [] };
  if (facts.nixos) {
    // NixOS registers the interpreters and sets extra-platforms itself (docs/emulation.md#nixos).
    const emulated = facts.extraPlatforms.filter((s) => emulatedCpu(s) && !nativeSystems(facts.hostSystem).includes(s));
    const wanted =
      mode === "enable" ? [...new Set([...emulated, ...systems])] : emulated.filter((s) => !systems.includes(s));
    return { ...base, nixosSnippet: nixosSnippet(wanted) };
  }
  if (mode === "enable") await assertInterpreters(ctx, facts, systems);
  const sandboxPaths = await sandboxPathsFor(ctx, facts, mode, systems);

  const planFrom = async (state = facts.state) =>
    planEmulation(
      {
        settings: state.settings,
        systemLayers: state.systemLayers,
        hostSystem: facts.hostSystem,
        daemonReload: await daemonRestartCommand(ctx.host, state.info),
      },
      mode,
      { systems, sandboxPaths },
    );
  if (facts.state.info.readOnlyReason) {
    throw new CrossnixError("CHECK_FAILED", facts.state.info.readOnlyReason, {
      hint: `set extra-platforms = ${systems.join(" ")} in your Nix configuration`,
      nothingWritten: true,
    });
  }
  const outcome = await runPlan(ctx, await planFrom(), {
    replan: async () => planFrom(await loadConfigState(ctx.host, { nixVersion: false })),
  });

  const proofs: EmulationProof[] = [];
  const unproved: string[] = [];
  if (mode === "enable" && options.build && (outcome.applied || outcome.noop)) {
    for (const system of systems) {
      ctx.progress(`Building a test derivation for ${system} on this machine to prove emulation works…`);
      const proof = await proveEmulation(ctx.host, system, Math.max(60, ctx.options.timeout));
      if (proof) proofs.push(proof);
      else unproved.push(system);
    }
  }
  return { ...base, nixosSnippet: null, outcome, proofs, unproved };
}

/**
 * Every system needs an enabled binfmt_misc entry whose interpreter exists, registered with F so
 * the kernel opened it already and builds in the sandbox can run it (docs/emulation.md#flags).
 */
async function assertInterpreters(ctx: EmulateContext, facts: EmulationFacts, systems: string[]): Promise<void> {
  const install = facts.install ?? "install your distribution's qemu-user-static package";
  if (!facts.binfmt.mounted) {
    throw new CrossnixError("CHECK_FAILED", `binfmt_misc is not mounted at ${BINFMT_DIR}`, {
      hint: `sudo mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}, then: ${install}`,
      nothingWritten: true,
    });
  }
  if (!facts.binfmt.enabled) {
    throw new CrossnixError("CHECK_FAILED", `binfmt_misc is switched off (${BINFMT_DIR}/status says disabled)`, {
      hint: `echo 1 | sudo tee ${BINFMT_DIR}/status`,
      nothingWritten: true,
    });
  }
  for (const system of systems) {
    const s = facts.systems.find((x) => x.system === system);
    const cpu = emulatedCpu(system)!;
    if (!s?.entry) {
      // Installed but not registered: registering is the fix, not installing again.
      const installed = await ctx.host.exists(`/usr/bin/qemu-${cpu.qemuCpu}-static`);
      const register = installed ? registerCommand(await readOsRelease(ctx.host), cpu.qemuCpu) : null;
      throw new CrossnixError(
        "CHECK_FAILED",
        `no interpreter for ${system} is registered with binfmt_misc (no qemu-${cpu.qemuCpu} entry)`,
        {
          hint: register ?? install,
          detail: { system, install: facts.install },
          nothingWritten: true,
        },
      );
    }
    if (!s.entry.enabled) {
      throw new CrossnixError("CHECK_FAILED", `the binfmt_misc entry ${s.entry.name} for ${system} is disabled`, {
        hint: `echo 1 | sudo tee ${BINFMT_DIR}/${s.entry.name}`,
        nothingWritten: true,
      });
    }
    if (!s.interpreterExists) {
      throw new CrossnixError(
        "CHECK_FAILED",
        `the interpreter ${s.entry.interpreter} registered for ${system} does not exist`,
        {
          hint: install,
          nothingWritten: true,
        },
      );
    }
    if (!s.fixBinary) {
      throw new CrossnixError(
        "CHECK_FAILED",
        `${s.entry.name} is registered without the F flag (flags: ${s.entry.flags || "none"}): builds in Nix's sandbox could not find ${s.entry.interpreter}`,
        { hint: `register it again with F: ${install}`, nothingWritten: true },
      );
    }
  }
}

/** The interpreters to list in (or take out of) extra-sandbox-paths: only when the sandbox is on. */
async function sandboxPathsFor(
  ctx: EmulateContext,
  facts: EmulationFacts,
  mode: "enable" | "disable",
  systems: string[],
): Promise<string[]> {
  const interpreters = async (list: string[]) => {
    const out: string[] = [];
    for (const system of list) {
      const entry = facts.systems.find((s) => s.system === system)?.entry;
      if (entry) out.push(...(await interpreterPaths(ctx.host, entry.interpreter)));
    }
    return out;
  };
  if (mode === "enable") return facts.sandbox ? interpreters(systems) : [];
  // Keep an interpreter another still-emulated system uses (armv6l and armv7l share qemu-arm).
  const staying = facts.extraPlatforms.filter((s) => !systems.includes(s));
  const kept = new Set(await interpreters(staying.filter((s) => emulatedCpu(s))));
  return (await interpreters(systems)).filter((p) => !kept.has(p));
}
