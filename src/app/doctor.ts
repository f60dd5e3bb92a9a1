// The `crossnix doctor` use case: gathers facts, runs every check in report order, and plans `--fix`.
import type { Context } from "../context.js";
import { type FleetBuilder, findBuilder } from "../core/builders/fleet.js";
import {
  type BuilderContext,
  type BuilderFacts,
  builderChecks,
  disabledBuilderCheck,
  unsupportedBuilderCheck,
} from "../core/doctor/builder.js";
import { cacheChecks } from "../core/doctor/cache.js";
import { buildersView, configChecks, maxJobsZeroCheck } from "../core/doctor/config.js";
import { e2eBlocker, e2eBuildable, e2eCheck, e2eSkip, e2eSystems } from "../core/doctor/e2e.js";
import { type FixPlan, planDoctorFixes } from "../core/doctor/fixes.js";
import {
  daemonSshCheck,
  nixDaemonCheck,
  nixFlavorCheck,
  nixInstalledCheck,
  privilegesCheck,
} from "../core/doctor/local.js";
import { type AutoFix, type Check, type CheckId, check } from "../core/doctor/types.js";
import { emulationChecks, vmChecks } from "../core/doctor/vm-emulation.js";
import { gatherEmulationFacts } from "./emulation/doctor-facts.js";
import { gatherVmFacts } from "./vm/doctor-facts.js";
import { effectiveSetting } from "../core/nix/settings.js";
import { noSuchBuilder } from "../errors.js";
import { gatherBuilder } from "../host/doctor/builder.js";
import { runE2eBuild } from "../host/doctor/e2e.js";
import { recordNixBuildRun } from "./build-history.js";
import { gatherLocal, type LocalGather } from "../host/doctor/local.js";
import { daemonRestartCommand } from "../host/nix/daemon.js";
import type { Host } from "../host/system/host.js";
import { SYSTEM_PATHS } from "../host/system/paths.js";
import { gatherCacheFacts } from "./caches/doctor-facts.js";

export interface DoctorInput {
  /** Check only this builder (local and configuration checks still run); null: every builder. */
  builder: string | null;
  /** Run the end-to-end builds. */
  build: boolean;
  /** Each builder's connection is checked within this many seconds (--timeout). */
  timeoutSeconds: number;
}

/** What one doctor run found: every check in report order, and what they were decided from. */
export interface DoctorReport {
  checks: Check[];
  gathered: LocalGather;
  /** The builders that were checked, with what was learned about them. */
  builders: { builder: FleetBuilder; facts: BuilderFacts | null }[];
}

/** Local checks without which every build fails before it reaches a builder; their fixes say why. */
const BUILD_BLOCKING_LOCAL: readonly CheckId[] = ["nix.installed", "nix.daemon", "nix.daemon-ssh"];

function isSsh(b: FleetBuilder): boolean {
  return b.protocol === "ssh" || b.protocol === "ssh-ng";
}

/**
 * `sudo` on Linux resets PATH to secure_path, which lacks the Nix profile: Nix is then
 * installed but `nix` is not found. Its usual homes go after the caller's own PATH.
 */
export function withNixOnPath(host: Host): Host {
  const dirs = [SYSTEM_PATHS.nixProfileBin, "/run/current-system/sw/bin"];
  const path = host.env["PATH"] ?? "/usr/bin:/bin";
  const missing = dirs.filter((d) => !path.split(":").includes(d));
  return missing.length ? { ...host, env: { ...host.env, PATH: [path, ...missing].join(":") } } : host;
}

/** Builds take longer than probes: copying and a build, possibly under emulation. */
function buildTimeoutSeconds(timeout: number): number {
  return Math.max(60, timeout * 6);
}

/**
 * Runs every check in dependency order: local Nix, configuration, then every builder at once
 * (each within the timeout), then end-to-end builds on the builders whose checks passed.
 */
export async function runDoctor(ctx: Pick<Context, "host" | "progress">, input: DoctorInput): Promise<DoctorReport> {
  ctx.progress("Checking local Nix and its configuration…");
  const host = withNixOnPath(ctx.host);
  const gathered = await gatherLocal(host, (info) => daemonRestartCommand(host, info));
  const { local, config: configFacts } = gathered;
  const localChecks = [
    nixInstalledCheck(local),
    nixDaemonCheck(local),
    daemonSshCheck(local),
    nixFlavorCheck(local),
    privilegesCheck(local, configFacts.user.name),
  ];

  let chosen: FleetBuilder[] = gathered.fleet;
  if (input.builder !== null) {
    const found = findBuilder(gathered.fleet, input.builder);
    if (!found)
      throw noSuchBuilder(
        [input.builder],
        gathered.fleet.map((b) => b.name),
      );
    chosen = [found];
  }

  const timeout = input.timeoutSeconds;
  // The caches are asked while the builders are connected to.
  const caches = gatherCacheFacts(host, {
    systemLayers: configFacts.systemLayers,
    clientLayers: configFacts.clientLayers,
    trusted: buildersView(configFacts).trusted,
    user: configFacts.user.name,
    timeoutSeconds: timeout,
  }).then(cacheChecks);
  const checked = chosen.filter((b) => isSsh(b) && (b.enabled || input.builder !== null));
  if (checked.length)
    ctx.progress(`Connecting to ${checked.length} builder(s) as the Nix daemon does (up to ${timeout} s)…`);
  const factsOf = new Map(
    await Promise.all(
      checked.map(async (b) => [b, await gatherBuilder(host, b, { timeoutSeconds: timeout })] as const),
    ),
  );
  const systemView = buildersView(configFacts);
  const useSubstitutes =
    effectiveSetting(
      "builders-use-substitutes",
      systemView.trusted ? [...configFacts.systemLayers, ...configFacts.clientLayers] : configFacts.systemLayers,
    ).value === "true";
  const builderContext: BuilderContext = {
    localSystem: local.system,
    localNixVersion: local.nix.version,
    useSubstitutes,
    mode: local.mode,
    user: local.uid === 0 ? "root" : configFacts.user.name,
  };

  const builderResults: Check[] = [];
  const builders: DoctorReport["builders"] = [];
  for (const b of chosen) {
    const facts = factsOf.get(b);
    if (facts === undefined) {
      builderResults.push(isSsh(b) ? disabledBuilderCheck(b) : unsupportedBuilderCheck(b));
      builders.push({ builder: b, facts: null });
      continue;
    }
    builderResults.push(...builderChecks(b, facts, builderContext));
    builders.push({ builder: b, facts });
  }
  const failedIds = (b: FleetBuilder) =>
    builderResults.filter((c) => c.builder === b.name && c.status === "fail").map((c) => c.id);
  const usable = checked.filter((b) => b.enabled && failedIds(b).length === 0);
  const maxJobsZero = maxJobsZeroCheck(configFacts, {
    usable: usable.length,
    checked: checked.filter((b) => b.enabled).length,
    filtered: input.builder !== null,
  });
  // max-jobs-zero needs the builders' results, so it is decided last but shown among the
  // configuration checks, after the first three (those about where builders come from).
  const config = configChecks(local, configFacts);
  const localBuilders = [
    ...vmChecks(await gatherVmFacts(host)),
    ...emulationChecks(await gatherEmulationFacts(host, configFacts.systemLayers)),
  ];
  const configuration = [...config.slice(0, 3), maxJobsZero, ...config.slice(3), ...localBuilders];

  const e2e: Check[] = [];
  if (!input.build) {
    e2e.push(check("e2e.build", "end-to-end", "skip", "Builds", "skipped (--no-build)"));
  } else if (checked.length === 0) {
    e2e.push(check("e2e.build", "end-to-end", "skip", "Builds", "no builders to build on"));
  } else {
    const daemonUp = local.mode === "daemon" && local.daemon.socket === "answers";
    const localBlockers = localChecks
      .filter((c) => c.status === "fail" && BUILD_BLOCKING_LOCAL.includes(c.id))
      .map((c) => c.id);
    const jobs = checked.map(async (b) => {
      const why = e2eBlocker({
        localBlockers,
        builderFailures: failedIds(b),
        enabled: b.enabled,
        allowed: local.uid === 0 || local.mode === "single-user" || systemView.trusted,
        user: configFacts.user.name,
        daemonDown: local.mode === "daemon" && !daemonUp,
      });
      const out: Check[] = [];
      for (const system of e2eSystems(b, local.system)) {
        if (why) {
          out.push(e2eSkip(b, system, why));
          continue;
        }
        if (!e2eBuildable(b, system)) {
          out.push(e2eSkip(b, system, `cannot write a derivation for '${system}'`));
          continue;
        }
        ctx.progress(`Building a test derivation for ${system} on ${b.name}…`);
        const result = await runE2eBuild(host, b, system, {
          timeoutSeconds: buildTimeoutSeconds(timeout),
          viaDaemon: daemonUp,
        });
        recordNixBuildRun(host, {
          via: "doctor",
          builder: b.name,
          builderUri: b.uri,
          system,
          stderr: result.stderr,
          ok: result.exitCode === 0 && !result.timedOut,
          durationMs: result.seconds * 1000,
        });
        out.push(e2eCheck(b, system, result));
      }
      return out;
    });
    for (const list of await Promise.all(jobs)) e2e.push(...list);
  }

  const cacheResults = await caches;
  return {
    checks: [...localChecks, ...configuration, ...cacheResults, ...builderResults, ...e2e],
    gathered,
    builders,
  };
}

/**
 * The plan that applies `fixes` (already confirmed where a person must confirm them) to what
 * `report` gathered, and the fixes it could not include, each with why.
 */
export async function planDoctorFix(host: Host, report: DoctorReport, fixes: readonly AutoFix[]): Promise<FixPlan> {
  const g = report.gathered;
  // `builders` is rewritten whole (it is not appendable); Nix's default is not carried over.
  const systemView = buildersView(g.config).system;
  const crossnixMachines = g.machines.get(g.info.machinesFile) ?? { text: null, parsed: null };
  return planDoctorFixes(fixes, {
    settings: g.settings,
    machines: { path: g.info.machinesFile, text: crossnixMachines.text, parsed: crossnixMachines.parsed },
    systemBuilders: systemView.baseIsDefault ? null : systemView.value,
    readOnlyReason: g.info.readOnlyReason,
    flavor: g.info.flavor,
    daemonReload: g.daemonReload,
    fleet: g.fleet,
    knownHosts: { path: SYSTEM_PATHS.knownHosts, text: await host.readText(SYSTEM_PATHS.knownHosts) },
  });
}
