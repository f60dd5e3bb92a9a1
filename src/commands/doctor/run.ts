import type { Context } from "../../context.js";
import {
  type BuilderContext,
  type BuilderFacts,
  builderChecks,
  disabledBuilderCheck,
  unsupportedBuilderCheck,
} from "../../core/doctor/builder.js";
import { buildersView, configChecks, maxJobsZeroCheck } from "../../core/doctor/config.js";
import { e2eBuildable, e2eCheck, e2eSkip, e2eSystems } from "../../core/doctor/e2e.js";
import {
  daemonSshCheck,
  nixDaemonCheck,
  nixFlavorCheck,
  nixInstalledCheck,
  privilegesCheck,
} from "../../core/doctor/local.js";
import { type Check, check } from "../../core/doctor/types.js";
import { type FleetBuilder, findBuilder } from "../../core/builders/fleet.js";
import { effectiveSetting } from "../../core/nix/settings.js";
import { noSuchBuilder } from "../../errors.js";
import { daemonRestartCommand } from "../../host/nix/daemon.js";
import { gatherBuilder } from "../../host/doctor/builder.js";
import { runE2eBuild } from "../../host/doctor/e2e.js";
import { gatherLocal, type LocalGather } from "../../host/doctor/local.js";
import type { ConfigState } from "../../host/state.js";
import type { Host } from "../../host/system/host.js";
import { SYSTEM_PATHS } from "../../host/system/paths.js";

export interface DoctorOptions {
  builder: string | null;
  build: boolean;
}

export interface DoctorReport {
  checks: Check[];
  gathered: LocalGather;
  /** The builders that were checked, with what was learned about them. */
  builders: { builder: FleetBuilder; facts: BuilderFacts | null }[];
}

function isSsh(b: FleetBuilder): boolean {
  return b.protocol === "ssh" || b.protocol === "ssh-ng";
}

/**
 * `sudo` on Linux resets PATH to secure_path, which lacks the Nix profile: Nix is then
 * installed but `nix` is not found. Its usual homes go after the caller's own PATH.
 */
function withNixOnPath(host: Host): Host {
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
 * (each within --timeout), then end-to-end builds on the builders whose checks passed.
 */
export async function runDoctor(ctx: Context, options: DoctorOptions): Promise<DoctorReport> {
  ctx.progress("Checking local Nix and its configuration…");
  const host = withNixOnPath(ctx.host);
  const g = await gatherLocal(host, (info) => daemonRestartCommand(host, info));
  const localChecks = [
    nixInstalledCheck(g.local),
    nixDaemonCheck(g.local),
    daemonSshCheck(g.local),
    nixFlavorCheck(g.local),
    privilegesCheck(g.local, g.config.user.name),
  ];
  const config = configChecks(g.local, g.config);

  let chosen: FleetBuilder[];
  if (options.builder !== null) {
    const found = findBuilder(g.fleet, options.builder);
    if (!found)
      throw noSuchBuilder(
        [options.builder],
        g.fleet.map((b) => b.name),
      );
    chosen = [found];
  } else {
    chosen = g.fleet;
  }

  const timeout = ctx.options.timeout;
  const checked = chosen.filter((b) => isSsh(b) && (b.enabled || options.builder !== null));
  if (checked.length)
    ctx.progress(`Connecting to ${checked.length} builder(s) as the Nix daemon does (up to ${timeout} s)…`);
  const facts = await Promise.all(checked.map((b) => gatherBuilder(host, b, { timeoutSeconds: timeout })));
  const systemView = buildersView(g.config);
  const useSubstitutes =
    effectiveSetting(
      "builders-use-substitutes",
      systemView.trusted ? [...g.config.systemLayers, ...g.config.clientLayers] : g.config.systemLayers,
    ).value === "true";
  const bctx: BuilderContext = {
    localSystem: g.local.system,
    localNixVersion: g.local.nix.version,
    useSubstitutes,
    mode: g.local.mode,
    user: g.local.uid === 0 ? "root" : g.config.user.name,
  };

  const builderResults: Check[] = [];
  const reports: DoctorReport["builders"] = [];
  for (const b of chosen) {
    const i = checked.indexOf(b);
    if (i === -1) {
      builderResults.push(isSsh(b) ? disabledBuilderCheck(b) : unsupportedBuilderCheck(b));
      reports.push({ builder: b, facts: null });
      continue;
    }
    builderResults.push(...builderChecks(b, facts[i]!, bctx));
    reports.push({ builder: b, facts: facts[i]! });
  }
  const failedIds = (b: FleetBuilder) =>
    builderResults.filter((c) => c.builder === b.name && c.status === "fail").map((c) => c.id);
  const usable = checked.filter((b) => b.enabled && failedIds(b).length === 0);
  const maxJobs = maxJobsZeroCheck(g.config, {
    usable: usable.length,
    checked: checked.filter((b) => b.enabled).length,
    filtered: options.builder !== null,
  });
  const configAll = [...config.slice(0, 3), maxJobs, ...config.slice(3)];

  const e2e: Check[] = [];
  if (!options.build) {
    e2e.push(check("e2e.build", "end-to-end", "skip", "Builds", "skipped (--no-build)"));
  } else if (checked.length === 0) {
    e2e.push(check("e2e.build", "end-to-end", "skip", "Builds", "no builders to build on"));
  } else {
    const daemonUp = g.local.mode === "daemon" && g.local.daemon.socket === "answers";
    const allowed = g.local.uid === 0 || g.local.mode === "single-user" || systemView.trusted;
    // Without these, every build fails before it reaches a builder; their fixes say why.
    const localBlockers = localChecks
      .filter((c) => c.status === "fail" && ["nix.installed", "nix.daemon", "nix.daemon-ssh"].includes(c.id))
      .map((c) => c.id);
    const jobs = checked.map(async (b) => {
      const systems = e2eSystems(b, g.local.system);
      const failed = failedIds(b);
      const why = localBlockers.length
        ? `not attempted: ${localBlockers.join(", ")} failed`
        : failed.length
          ? `not attempted: ${failed.join(", ")} failed`
          : !b.enabled
            ? "the builder is disabled"
            : !allowed
              ? `needs root or a trusted user (the daemon ignores --builders from ${g.config.user.name}): run sudo crossnix doctor`
              : g.local.mode === "daemon" && !daemonUp
                ? "the Nix daemon does not answer (see nix.daemon)"
                : null;
      const out: Check[] = [];
      for (const system of systems) {
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
        out.push(e2eCheck(b, system, result));
      }
      return out;
    });
    for (const list of await Promise.all(jobs)) e2e.push(...list);
  }

  return { checks: [...localChecks, ...configAll, ...builderResults, ...e2e], gathered: g, builders: reports };
}
