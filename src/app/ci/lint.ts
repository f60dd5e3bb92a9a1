// The `ci lint` use case: finds the workflow files and lints each one.
import path from "node:path";
import { countBySeverity, type Finding, lintWorkflow } from "../../core/ci/lint.js";
import { badInput, CrossnixError } from "../../errors.js";
import type { Host } from "../../host/system/host.js";
import { isDirectory, repoPath } from "./repo-files.js";

/** Where GitHub reads workflows, relative to the repository. */
export const DEFAULT_WORKFLOW_DIR = ".github/workflows";
const WORKFLOW_FILE = /\.ya?ml$/i;

export interface LintInput {
  /** The directory file names are relative to (the repository). */
  cwd: string;
  /** Files or directories as given; []: every workflow in .github/workflows. */
  files: string[];
}

export interface LintReport {
  findings: Finding[];
  /** The files linted, named as given (a directory's files joined to how it was given). */
  files: string[];
  summary: { files: number; errors: number; warnings: number };
}

/** Workflow files in a directory (no subdirectories, no symlinks), sorted, named relative to how it was given. */
async function workflowsIn(host: Host, cwd: string, shown: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of await host.list(repoPath(cwd, shown))) {
    if (!WORKFLOW_FILE.test(name)) continue;
    const file = repoPath(cwd, path.join(shown, name));
    if ((await host.linkTarget(file)) !== null || (await isDirectory(host, file))) continue;
    files.push(path.join(shown, name));
  }
  return files.sort();
}

async function resolveFiles(host: Host, input: LintInput): Promise<string[]> {
  if (input.files.length === 0) {
    if (!(await isDirectory(host, repoPath(input.cwd, DEFAULT_WORKFLOW_DIR)))) return [];
    return workflowsIn(host, input.cwd, DEFAULT_WORKFLOW_DIR);
  }
  const files: string[] = [];
  for (const arg of input.files) {
    if (!(await host.exists(repoPath(input.cwd, arg)))) throw badInput("file", arg, "no such file");
    if (await isDirectory(host, repoPath(input.cwd, arg))) files.push(...(await workflowsIn(host, input.cwd, arg)));
    else files.push(arg);
  }
  return files;
}

async function readWorkflow(host: Host, cwd: string, file: string): Promise<string> {
  let text: string | null;
  try {
    text = await host.readText(repoPath(cwd, file));
  } catch (error) {
    // The Host's own error names the relocated path; this one names the file as given.
    const why = error instanceof CrossnixError ? error.message.replace(/^.*: /, "") : (error as Error).message;
    throw new CrossnixError("IO", `cannot read ${file}: ${why}`, { exitCode: 2 });
  }
  if (text === null) throw new CrossnixError("IO", `cannot read ${file}: no such file`, { exitCode: 2 });
  return text;
}

/** Lints the workflows named (or found in .github/workflows); a file that cannot be read is exit 2. */
export async function lintWorkflows(host: Host, input: LintInput): Promise<LintReport> {
  const files = await resolveFiles(host, input);
  const findings: Finding[] = [];
  for (const file of files) findings.push(...lintWorkflow(file, await readWorkflow(host, input.cwd, file)));
  return { findings, files, summary: { files: files.length, ...countBySeverity(findings) } };
}
