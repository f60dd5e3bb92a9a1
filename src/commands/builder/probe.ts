import type { Handler } from "../../context.js";
import { daemonSshTarget, type FleetBuilder } from "../../core/builders/fleet.js";
import type { SshFailure } from "../../core/diagnosis/ssh.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import {
  type BuilderFacts,
  loginShellCheck,
  remoteProgramCheck,
  systemsCheck,
  trustCheck,
} from "../../core/doctor/builder.js";
import { nixSystemFor } from "../../core/nix/version.js";
import { checkBuilderName } from "../../core/builders/name.js";
import { noSuchBuilder } from "../../errors.js";
import { loadConfigState } from "../../host/state.js";
import { type ProbeOutcome, probeBuilder } from "../../host/builders/probe.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

function gib(bytes: number | null): string {
  return bytes === null ? "?" : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

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

const probe: Handler = async (ctx, { args }) => {
  for (const name of args) checkBuilderName("builder name", name);
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const unknown = args.filter((name) => !state.fleet.some((b) => b.name === name));
  if (unknown.length)
    throw noSuchBuilder(
      unknown,
      state.fleet.map((b) => b.name),
    );
  const chosen = args.length ? state.fleet.filter((b) => args.includes(b.name)) : state.fleet.filter((b) => b.enabled);
  if (chosen.length === 0) return { json: { builders: [] }, text: "No enabled builders to probe." };
  ctx.progress(`Probing ${chosen.length} builder(s) as the Nix daemon connects…`);
  const localSystem = nixSystemFor(ctx.host.platform, ctx.host.arch);
  // Every builder at once: the slowest (or a hung one, cut at --timeout) sets the total time.
  const outcomes: ProbeOutcome[] = await Promise.all(
    chosen.map((b) => probeBuilder(ctx.host, daemonSshTarget(b), { timeoutSeconds: ctx.options.timeout })),
  );
  type Result =
    | { name: string; ok: true; seconds: number; facts: ProbeFacts; warnings: string[] }
    | { name: string; ok: false; seconds: number; error: SshFailure };
  const results: Result[] = chosen.map((builder, i) => {
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
  const style = makeStyle(ctx.options.color);
  const rows = results.map((r) => {
    if (!r.ok) return [r.name, style.red("fail"), r.error.summary, "", "", "", "", `${r.seconds.toFixed(1)}s`];
    const f = r.facts;
    return [
      r.name,
      r.warnings.length ? style.yellow("warn") : style.green("ok"),
      f.nixVersion ?? "?",
      f.systems.join(","),
      String(f.cpus ?? "?"),
      gib(f.freeBytes),
      f.trusted === null ? "?" : f.trusted ? "yes" : style.red("no"),
      `${r.seconds.toFixed(1)}s`,
    ];
  });
  const details = results.flatMap((r) =>
    r.ok ? r.warnings.map((w) => `${r.name}: ${w}`) : [`${r.name}: ${r.error.evidence}\n  fix: ${r.error.fix}`],
  );
  const text = [
    renderTable(["NAME", "STATUS", "NIX", "SYSTEMS", "CPUS", "FREE", "TRUSTED", "TIME"], rows),
    ...details,
  ].join("\n");
  return { json: { builders: results }, text, exitCode: results.every((r) => r.ok) ? 0 : 1 };
};

export default probe;
