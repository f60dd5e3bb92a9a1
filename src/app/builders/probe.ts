// `builder probe`: connect to builders exactly as the Nix daemon does, all at once, and say what
// each offers and what Nix would still trip over there.
import type { Context } from "../../context.js";
import { daemonSshTarget, type FleetBuilder } from "../../core/builders/fleet.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import type { SshFailure } from "../../core/diagnosis/ssh.js";
import {
  type BuilderFacts,
  loginShellCheck,
  remoteProgramCheck,
  systemsCheck,
  trustCheck,
} from "../../core/doctor/builder.js";
import { nixSystemFor } from "../../core/nix/systems.js";
import { noSuchBuilder } from "../../errors.js";
import { probeBuilder } from "../../host/builders/probe.js";
import { loadConfigState } from "../../host/state.js";

export type ProbeResult =
  | { name: string; ok: true; seconds: number; facts: ProbeFacts; warnings: string[] }
  | { name: string; ok: false; seconds: number; error: SshFailure };

/**
 * What Nix would still trip over on a builder that answered: doctor's own checks of the probed
 * facts (remote program, login shell, trust, systems), so both commands say the same thing.
 */
export function probeWarnings(builder: FleetBuilder, facts: ProbeFacts, localSystem: string): string[] {
  const probed: BuilderFacts = {
    ssh: null,
    sshError: null,
    connect: null,
    keyscan: null,
    identities: [],
    probe: { ok: true, facts, remoteProgramExecutable: null, seconds: 0 },
    notRunReason: null,
    timeoutSeconds: 0,
  };
  const context = { localSystem, localNixVersion: null, useSubstitutes: true, mode: "daemon" as const, user: "root" };
  return [
    remoteProgramCheck(builder, probed),
    loginShellCheck(builder, probed),
    trustCheck(builder, probed),
    systemsCheck(builder, probed, context),
  ]
    .filter((c) => c.status === "fail" || c.status === "warn")
    .map((c) => c.observed);
}

/**
 * Probes the named builders (checked names; an unknown one is NOT_FOUND, exit 2), or every enabled
 * one when none is named. Every builder at once: the slowest (or a hung one, cut at --timeout)
 * sets the total time.
 */
export async function probeBuilders(
  ctx: Pick<Context, "host" | "options" | "progress">,
  input: { names: string[] },
): Promise<ProbeResult[]> {
  const { names } = input;
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const unknown = names.filter((name) => !state.fleet.some((b) => b.name === name));
  if (unknown.length)
    throw noSuchBuilder(
      unknown,
      state.fleet.map((b) => b.name),
    );
  const chosen = names.length
    ? state.fleet.filter((b) => names.includes(b.name))
    : state.fleet.filter((b) => b.enabled);
  if (chosen.length === 0) return [];
  ctx.progress(`Probing ${chosen.length} builder(s) as the Nix daemon connects…`);
  const localSystem = nixSystemFor(ctx.host.platform, ctx.host.arch);
  const outcomes = await Promise.all(
    chosen.map((b) => probeBuilder(ctx.host, daemonSshTarget(b), { timeoutSeconds: ctx.options.timeout })),
  );
  return chosen.map((builder, i): ProbeResult => {
    const outcome = outcomes[i]!;
    return outcome.ok
      ? {
          name: builder.name,
          ok: true,
          seconds: outcome.seconds,
          facts: outcome.facts,
          warnings: probeWarnings(builder, outcome.facts, localSystem),
        }
      : { name: builder.name, ok: false, seconds: outcome.seconds, error: outcome.failure };
  });
}
