// Renders a plan for people: changed files with diffs, then commands.
import type { RenderedPlan } from "../core/plan/plan.js";
import type { Style } from "./style.js";

/** The plan as a person reads it: which files change and why, unified diffs, then commands. */
export function renderPlanText(plan: RenderedPlan, style: Style): string {
  const out: string[] = [style.bold(plan.title)];
  if (plan.files.length === 0 && plan.commands.length === 0) {
    out.push("Nothing to change: everything is already in place.");
  }
  for (const file of plan.files) {
    out.push("", `${style.bold(file.action)} ${file.path}  ${style.dim(`(${file.reason})`)}`);
    for (const line of file.diff.trimEnd().split("\n")) {
      if (line.startsWith("+++") || line.startsWith("---")) out.push(style.bold(line));
      else if (line.startsWith("+")) out.push(style.green(line));
      else if (line.startsWith("-")) out.push(style.red(line));
      else if (line.startsWith("@@")) out.push(style.cyan(line));
      else out.push(line);
    }
  }
  if (plan.commands.length > 0) {
    out.push("", style.bold("then run:"));
    for (const c of plan.commands) out.push(`  $ ${c.command}  ${style.dim(`# ${c.description}`)}`);
  }
  for (const note of plan.notes) out.push("", note);
  return out.join("\n");
}
