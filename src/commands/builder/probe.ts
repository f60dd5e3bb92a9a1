// `crossnix builder probe [names...]`: the names checked, the probe use case, a table (or JSON).
import { probeBuilders } from "../../app/builders/probe.js";
import type { Handler } from "../../context.js";
import { checkBuilderName } from "../../core/builders/name.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

export interface ProbeOptions {
  /** The builders to probe; []: every enabled one. */
  names: string[];
}

export function parseProbeOptions(args: string[]): ProbeOptions {
  return { names: args.map((name) => checkBuilderName("builder name", name)) };
}

function gib(bytes: number | null): string {
  return bytes === null ? "?" : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

const probe: Handler = async (ctx, { args }) => {
  const results = await probeBuilders(ctx, parseProbeOptions(args));
  if (results.length === 0) return { json: { builders: [] }, text: "No enabled builders to probe." };
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
