import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Handler } from "../../context.js";
import { countBySeverity, type Finding, lintWorkflow } from "../../core/ci/lint.js";
import { badInput, CrossnixError } from "../../errors.js";
import { makeStyle, type Style } from "../../ui/style.js";

const DEFAULT_DIR = ".github/workflows";
const WORKFLOW_FILE = /\.ya?ml$/i;

/** Workflow files in a directory, sorted, named relative to how the directory was given. */
async function workflowsIn(dir: string, shown: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && WORKFLOW_FILE.test(e.name))
    .map((e) => path.join(shown, e.name))
    .sort();
}

async function resolveFiles(args: string[], cwd: string): Promise<string[]> {
  if (args.length === 0) {
    const dir = path.resolve(cwd, DEFAULT_DIR);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) return [];
    return workflowsIn(dir, DEFAULT_DIR);
  }
  const files: string[] = [];
  for (const arg of args) {
    const info = await stat(path.resolve(cwd, arg)).catch(() => null);
    if (!info) throw badInput("file", arg, "no such file");
    if (info.isDirectory()) files.push(...(await workflowsIn(path.resolve(cwd, arg), arg)));
    else files.push(arg);
  }
  return files;
}

function renderText(findings: Finding[], files: string[], style: Style): string {
  if (files.length === 0) return `No workflow files found in ${DEFAULT_DIR}.`;
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
  const { errors, warnings } = countBySeverity(findings);
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
  const cwd = process.cwd();
  const files = await resolveFiles(args, cwd);
  const findings: Finding[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(path.resolve(cwd, file), "utf8");
    } catch (error) {
      throw new CrossnixError("IO", `cannot read ${file}: ${(error as Error).message}`, { exitCode: 2 });
    }
    findings.push(...lintWorkflow(file, text));
  }
  const counts = countBySeverity(findings);
  return {
    json: { findings, files, summary: { files: files.length, ...counts } },
    text: renderText(findings, files, makeStyle(ctx.options.color)),
    exitCode: counts.errors > 0 ? 1 : 0,
  };
};

export default lint;
