// The text of a migration: each step with its status, the Nix changes to make, and warnings.
import type { MigrateResult } from "../../app/approaches/migrate.js";

const MARK = { done: "✔", planned: "·", "for-you": "→", skipped: "-", failed: "✘" } as const;

export function renderMigration(r: MigrateResult, dryRun: boolean): string {
  const lines = [`${dryRun ? "Dry run: " : ""}migrate ${r.from.length ? `from ${r.from.join(", ")} ` : ""}to ${r.to}`];
  for (const s of r.steps)
    lines.push(`${MARK[s.status]} [${s.phase}] ${s.text}${s.status === "for-you" ? " (for you to do)" : ""}`);
  if (r.nixChanges.length)
    lines.push("", "Change your nix-darwin configuration:", "", ...r.nixChanges.map((c) => `  ${c}`));
  for (const w of r.warnings) lines.push("", `Warning: ${w}`);
  if (r.retired) lines.push("", `Done: ${r.to} built, and the old approach was retired as listed.`);
  return lines.join("\n");
}
