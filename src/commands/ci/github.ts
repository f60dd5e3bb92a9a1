import { stat } from "node:fs/promises";
import path from "node:path";
import type { Context, Handler } from "../../context.js";
import { SYSTEM_PATTERN } from "../../core/ci/facts.js";
import {
  DEFAULT_WORKFLOW_PATH,
  generateGithubWorkflow,
  isCrossnixGenerated,
  regenerateCommand,
} from "../../core/ci/generate.js";
import {
  cacheLabel,
  checkExplicitSystems,
  type FlakeAttr,
  type GithubWorkflowSpec,
  parseCache,
  parseFlakeAttr,
  parseInstaller,
  parseSystemList,
  selectFlakeSystems,
  splitBuilds,
} from "../../core/ci/options.js";
import { emptyPlan } from "../../core/plan/plan.js";
import { badInput, CrossnixError } from "../../errors.js";
import { describeFailure, succeeded } from "../../host/system/exec.js";
import { readTextOrNull } from "../../host/system/host.js";
import { runPlan, describeOutcome } from "../../app/plan-runner.js";

/** Long enough for Nix to fetch a flake's inputs (nixpkgs) the first time. */
const NIX_EVAL_TIMEOUT_MS = 5 * 60_000;

const NIX = ["nix", "--extra-experimental-features", "nix-command flakes"];

/**
 * The systems the flake in `dir` defines under `attr`.
 *
 * First `builtins.getFlake` on the directory, which reads the top-level output exactly (needs
 * --impure: the directory is not a locked reference). `nix eval .#packages` is only the fallback:
 * for an installable Nix first tries `packages.<system>.packages` and
 * `legacyPackages.<system>.packages` (seen with Nix 2.8), so it can answer the wrong question.
 * getFlake refuses a flake whose flake.lock is missing or stale ("requires lock file changes");
 * the CLI locks in memory instead (--no-write-lock-file: crossnix writes nothing it did not plan).
 */
async function readFlakeSystems(ctx: Context, dir: string, attr: FlakeAttr): Promise<string[]> {
  const askForSystems = "pass --systems, e.g. --systems x86_64-linux,aarch64-linux,aarch64-darwin";
  if (!(await stat(path.join(dir, "flake.nix")).catch(() => null))) {
    throw new CrossnixError("USAGE", `no flake.nix in ${dir}, so crossnix cannot read which systems to build`, {
      hint: `run it in the flake's directory, or ${askForSystems}`,
    });
  }
  ctx.progress(`Reading the systems of ${attr} with nix eval…`);
  const options = { cwd: dir, env: ctx.host.env, timeoutMs: NIX_EVAL_TIMEOUT_MS };
  const exact = `builtins.attrNames (builtins.getFlake (toString ./.)).${attr}`;
  let run = await ctx.host.exec([...NIX, "eval", "--impure", "--json", "--expr", exact], options);
  if (run.spawnError) {
    throw new CrossnixError(
      "USAGE",
      "Nix is not available here, so crossnix cannot read which systems the flake defines",
      {
        hint: askForSystems,
        detail: { spawnError: run.spawnError },
      },
    );
  }
  let viaInstallable = false;
  if (!succeeded(run) && /requires lock file changes/.test(run.stderr)) {
    ctx.debug("flake.lock is missing or stale; asking nix eval with an in-memory lock");
    viaInstallable = true;
    run = await ctx.host.exec(
      [...NIX, "eval", "--no-write-lock-file", "--json", `.#${attr}`, "--apply", "builtins.attrNames"],
      options,
    );
  }
  if (!succeeded(run)) {
    const missing = new RegExp(`attribute '${attr}' missing|does not provide attribute`).test(run.stderr);
    throw new CrossnixError(
      "NIX",
      missing
        ? `the flake has no '${attr}' output`
        : `nix eval could not read the flake's ${attr}: ${describeFailure(run)}`,
      {
        hint: `${askForSystems}${attr === "packages" ? ", or add multi-system packages (crossnix ci flake-snippet)" : ""}`,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    parsed = null;
  }
  const names = Array.isArray(parsed) && parsed.every((s) => typeof s === "string") ? (parsed as string[]) : null;
  // Through an installable, names that are not systems mean Nix found a look-alike attribute.
  if (names === null || (viaInstallable && !names.every((s) => SYSTEM_PATTERN.test(s)))) {
    throw new CrossnixError("NIX", `nix eval did not give a list of systems for ${attr}: ${run.stdout.slice(0, 200)}`, {
      hint: askForSystems,
    });
  }
  return names;
}

const github: Handler = async (ctx, { options }) => {
  const installer = parseInstaller(options["installer"]);
  const cache = parseCache(options["cache"]);
  const attr = parseFlakeAttr(options["attr"]);
  const emulate = options["emulate"] === true;
  const output = typeof options["output"] === "string" ? options["output"] : DEFAULT_WORKFLOW_PATH;
  if (output.trim() === "") throw badInput("--output", output, "expected a file path, or '-' for stdout");
  const cwd = process.cwd();

  let systems: string[];
  let skipped: string[] = [];
  const systemsFrom = typeof options["systems"] === "string" ? "--systems" : "flake";
  if (typeof options["systems"] === "string") {
    systems = parseSystemList(options["systems"]);
    checkExplicitSystems(systems, emulate);
  } else {
    const defined = await readFlakeSystems(ctx, cwd, attr);
    ({ systems, skipped } = selectFlakeSystems(defined, emulate));
    if (systems.length === 0) {
      throw new CrossnixError(
        "USAGE",
        defined.length === 0
          ? `the flake's ${attr} defines no systems`
          : `none of the flake's systems (${defined.join(", ")}) has a GitHub-hosted runner`,
        { hint: "pass --systems, or --emulate for Linux systems without a native runner" },
      );
    }
  }

  const spec: GithubWorkflowSpec = { systems, installer, cache, attr, emulate };
  const workflow = generateGithubWorkflow(spec);
  const { native, emulated } = splitBuilds(spec);
  const summary = {
    systems,
    systemsFrom,
    skipped,
    native,
    emulated,
    installer,
    cache: cacheLabel(cache),
    attr,
    emulate,
  };

  if (output === "-") return { json: { ...summary, workflow }, text: workflow };

  const target = path.resolve(cwd, output);
  const before = await readTextOrNull(target);
  if (before !== null && !isCrossnixGenerated(before) && options["force"] !== true) {
    // Refusing is a failed operation, not bad usage: exit 1 (CONFLICT).
    throw new CrossnixError(
      "CONFLICT",
      `${output} exists and was not generated by crossnix, so crossnix will not overwrite it`,
      {
        hint: "re-run with --force to replace it (the plan shows the diff first), or choose another file with --output",
        detail: { output: target },
      },
    );
  }

  const plan = emptyPlan(`GitHub Actions workflow ${output}`);
  plan.files.push({
    path: target,
    before,
    after: workflow,
    reason: `builds ${attr} for ${systems.join(", ")}`,
    repoFile: true,
  });
  if (skipped.length > 0) {
    plan.notes.push(
      `Not built (no GitHub-hosted runner${emulate ? "" : "; --emulate covers Linux ones under QEMU"}): ${skipped.join(", ")}.`,
    );
  }
  if (cache.kind === "cachix") {
    plan.notes.push(
      `Add the repository secret CACHIX_AUTH_TOKEN so the workflow can push to the Cachix cache '${cache.name}'.`,
    );
  }
  if (cache.kind === "flakehub") {
    plan.notes.push(
      "FlakeHub Cache needs the repository's owner on FlakeHub; the workflow grants 'id-token: write' for its login.",
    );
  }
  if (emulated.length > 0) {
    plan.notes.push(`Built under QEMU on ubuntu-24.04 (slow): ${emulated.join(", ")}.`);
  }
  const outcome = await runPlan(ctx, plan);
  const text = [describeOutcome(outcome), outcome.applied ? `Regenerate with: ${regenerateCommand(spec)}` : ""]
    .filter((l) => l !== "")
    .join("\n");
  return { json: { ...summary, output: target, ...outcome }, text };
};

export default github;
