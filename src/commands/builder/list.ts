// `crossnix builder list`: the listing use case, rendered as a table (or JSON).
import { listBuilders } from "../../app/builders/list.js";
import type { Handler } from "../../context.js";
import type { FleetBuilder } from "../../core/builders/fleet.js";
import { effectiveMaxJobs, effectiveSpeedFactor } from "../../core/formats/machines/index.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

export function builderJson(b: FleetBuilder) {
  return {
    name: b.name,
    uri: b.uri,
    systems: b.entry.systems,
    maxJobs: effectiveMaxJobs(b.entry),
    /** The speed factor Nix uses: unset and 0 both mean 1 (docs/nix-machines-file.md#speed-factor). */
    speedFactor: effectiveSpeedFactor(b.entry),
    /** The number in the file's speed-factor column, or null when it is unset ('-' or absent). */
    speedFactorColumn: b.entry.speedFactor,
    features: b.entry.supportedFeatures,
    mandatoryFeatures: b.entry.mandatoryFeatures,
    hostKeyFingerprint: b.hostKeyFingerprint,
    enabled: b.enabled,
    managed: b.managed,
    file: b.file,
    line: b.line,
  };
}

/** Speed as Nix uses it, marked when it differs from the column (a 0, which Nix reads as 1). */
function speedCell(b: FleetBuilder): string {
  const effective = effectiveSpeedFactor(b.entry);
  return b.entry.speedFactor !== null && b.entry.speedFactor !== effective ? `${effective}†` : String(effective);
}

const list: Handler = async (ctx) => {
  const listing = await listBuilders(ctx);
  const style = makeStyle(ctx.options.color);
  const builders = listing.builders.map(builderJson);
  const { files, problems, rules: nixRules } = listing;
  const json = { builders, files, problems, rules: nixRules };
  const problemText = problems.length
    ? `\n${style.red(`${nixRules} rejects or cannot follow these lines (doctor explains):`)}\n${problems.map((p) => `  ${p}`).join("\n")}`
    : "";
  if (builders.length === 0) {
    return {
      json,
      text: `No builders in ${listing.machinesPath}. Add one with: crossnix builder add user@host${problemText}`,
    };
  }
  const rows = listing.builders.map((b) => [
    b.managed ? b.name : style.dim(`${b.name}*`),
    b.enabled ? style.green("enabled") : style.yellow("disabled"),
    b.entry.systems.join(",") || style.dim("(local system)"),
    String(effectiveMaxJobs(b.entry)),
    speedCell(b),
    b.entry.supportedFeatures.join(",") || "-",
    b.hostKeyFingerprint ?? style.yellow("not pinned"),
    `${b.file}:${b.line}`,
  ]);
  const table = renderTable(["NAME", "STATE", "SYSTEMS", "JOBS", "SPEED", "FEATURES", "HOST KEY", "WHERE"], rows);
  const notes = [
    "SPEED is the speed factor Nix uses: an unset column and 0 both count as 1.",
    ...(listing.builders.some(
      (b) => b.entry.speedFactor !== null && b.entry.speedFactor !== effectiveSpeedFactor(b.entry),
    )
      ? ["† the file says 0 there; Nix treats a speed factor of 0 as 1"]
      : []),
    ...(listing.builders.some((b) => !b.managed) ? ["* not written by crossnix; crossnix leaves it alone"] : []),
    ...(files.length > 1
      ? [
          `Included files: ${files
            .filter((f) => f.includedFrom)
            .map((f) => `${f.path} (from ${f.includedFrom}${f.exists ? "" : ", missing: Nix skips it"})`)
            .join(", ")}`,
        ]
      : []),
  ];
  return { json, text: `${table}\n${notes.map((n) => style.dim(n)).join("\n")}${problemText}` };
};

export default list;
