// `crossnix ci lint`: lints workflow files and prints the findings.
import { DEFAULT_WORKFLOW_DIR, type LintReport, lintWorkflows } from "../../app/ci/lint.js";
import type { Handler } from "../../context.js";
import type { Finding } from "../../core/ci/lint.js";
import { makeStyle, type Style } from "../../ui/style.js";

/** `ci lint [files...]` has no options of its own: only the files (or directories) to lint. */
export interface LintOptions {
  files: string[];
}

function renderText({ findings, files, summary }: LintReport, style: Style): string {
  if (files.length === 0) return `No workflow files found in ${DEFAULT_WORKFLOW_DIR}.`;
  const out: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  for (const [file, list] of byFile) {
    out.push(style.bold(file));
    const posWidth = Math.max(...list.map((f) => `${f.line}:${f.column}`.length));
    for (const f of list) {
      const pos = `${f.line}:${f.column}`.padEnd(posWidth);
      const severity = f.severity === "error" ? style.red("error  ") : style.yellow("warning");
      out.push(`  ${pos}  ${severity}  ${f.message}  ${style.dim(f.rule)}`);
      out.push(`  ${" ".repeat(posWidth)}  ${style.dim("fix:")}     ${f.fix}`);
    }
    out.push("");
  }
  const { errors, warnings } = summary;
  const checked = `${files.length} workflow file${files.length === 1 ? "" : "s"}`;
  if (findings.length === 0) out.push(`No problems found in ${checked}.`);
  else {
    out.push(
      `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"} in ${byFile.size} of ${checked}.`,
    );
  }
  return out.join("\n");
}

const lint: Handler = async (ctx, { args }) => {
  const options: LintOptions = { files: args };
  const report = await lintWorkflows(ctx.host, { cwd: process.cwd(), files: options.files });
  return {
    json: report,
    text: renderText(report, makeStyle(ctx.options.color)),
    exitCode: report.summary.errors > 0 ? 1 : 0,
  };
};

export default lint;
