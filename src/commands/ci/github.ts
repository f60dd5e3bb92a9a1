// `crossnix ci github`: parses and validates options, runs the workflow use case.
import { type GithubWorkflowInput, githubWorkflow } from "../../app/ci/github.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { DEFAULT_WORKFLOW_PATH, regenerateCommand } from "../../core/ci/generate.js";
import { parseCache, parseFlakeAttr, parseInstaller, parseSystemList } from "../../core/ci/options.js";
import { badInput } from "../../errors.js";
import { flagOption, type RawOptions, textOption } from "../options.js";

/** Everything githubWorkflow takes but the repository directory, which is the current one. */
export type GithubOptions = Omit<GithubWorkflowInput, "cwd">;

/** Reads and validates every option before anything runs (exit 2 naming the field and value). */
export function parseGithubOptions(raw: RawOptions): GithubOptions {
  const installer = parseInstaller(raw["installer"]);
  const cache = parseCache(raw["cache"]);
  const attr = parseFlakeAttr(raw["attr"]);
  const output = textOption(raw, "output") ?? DEFAULT_WORKFLOW_PATH;
  if (output.trim() === "") throw badInput("--output", output, "expected a file path, or '-' for stdout");
  const systems = textOption(raw, "systems");
  return {
    installer,
    cache,
    attr,
    emulate: flagOption(raw, "emulate"),
    output,
    force: flagOption(raw, "force"),
    systems: systems === undefined ? null : parseSystemList(systems),
  };
}

const github: Handler = async (ctx, { options }) => {
  const result = await githubWorkflow(ctx, { ...parseGithubOptions(options), cwd: process.cwd() });
  if (result.kind === "printed")
    return { json: { ...result.summary, workflow: result.workflow }, text: result.workflow };
  const { outcome } = result;
  const text = [describeOutcome(outcome), outcome.applied ? `Regenerate with: ${regenerateCommand(result.spec)}` : ""]
    .filter((l) => l !== "")
    .join("\n");
  return { json: { ...result.summary, output: result.output, ...outcome }, text };
};

export default github;
