import type { Handler } from "../../context.js";
import { daemonSshTarget, type FleetBuilder } from "../../core/fleet.js";
import type { SshFailure } from "../../core/diagnosis/ssh.js";
import type { ProbeFacts } from "../../core/probe.js";
import { CrossnixError } from "../../errors.js";
import { loadConfigState } from "../../host/config-state.js";
import { type ProbeOutcome, probeBuilder } from "../../host/probe.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

function gib(bytes: number | null): string {
  return bytes === null ? "?" : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** What a person must do about a healthy connection that Nix would still trip over. */
export function probeWarnings(builder: FleetBuilder, facts: ProbeFacts): string[] {
  const warnings: string[] = [];
  if (facts.shellNoise.trim()) warnings.push(`login shell prints to stdout ('${facts.shellNoise.trim().slice(0, 40)}'): breaks Nix's protocol`);
  if (facts.trusted === false) warnings.push(`${facts.user} is not trusted by the builder's Nix daemon (trusted-users = ${facts.trustedUsers.join(" ") || "root"})`);
  const program = builder.protocol === "ssh" ? "nix-store" : "nix-daemon";
  const onPath = builder.protocol === "ssh" ? facts.onPath.nixStore : facts.onPath.nixDaemon;
  if (!onPath && !builder.remoteProgram) {
    const candidate = facts.candidates[0];
    warnings.push(
      candidate
        ? `${program} is not on the non-interactive PATH: set remote-program=${candidate}/${program}`
        : `${program} not found on the builder`,
    );
  }
  const missing = builder.entry.systems.filter((s: string) => !facts.systems.includes(s));
  if (missing.length) warnings.push(`entry lists ${missing.join(", ")} but the builder reports ${facts.systems.join(", ")}`);
  return warnings;
}

const probe: Handler = async (ctx, { args }) => {
  const state = await loadConfigState(ctx.host, { nixVersion: false });
  const unknown = args.filter((name) => !state.fleet.some((b) => b.name === name));
  if (unknown.length) {
    throw new CrossnixError("NOT_FOUND", `no builder named ${unknown.map((n) => `'${n}'`).join(", ")}`, {
      hint: `known: ${state.fleet.map((b) => b.name).join(", ") || "none"}`,
      exitCode: 2,
    });
  }
  const chosen = args.length ? state.fleet.filter((b) => args.includes(b.name)) : state.fleet.filter((b) => b.enabled);
  if (chosen.length === 0) return { json: { builders: [] }, text: "No enabled builders to probe." };
  ctx.progress(`Probing ${chosen.length} builder(s) as the Nix daemon connects…`);
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
      ? { name: builder.name, ok: true, seconds: outcome.seconds, facts: outcome.facts, warnings: probeWarnings(builder, outcome.facts) }
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
  const text = [renderTable(["NAME", "STATUS", "NIX", "SYSTEMS", "CPUS", "FREE", "TRUSTED", "TIME"], rows), ...details].join("\n");
  return { json: { builders: results }, text, exitCode: results.every((r) => r.ok) ? 0 : 1 };
};

export default probe;
