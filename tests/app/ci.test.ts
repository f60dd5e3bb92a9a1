import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type GithubWorkflowInput, githubWorkflow } from "../../src/app/ci/github.js";
import { lintWorkflows } from "../../src/app/ci/lint.js";
import type { Context } from "../../src/context.js";
import { createHost } from "../../src/host/system/host.js";

// ci github and ci lint in-process: a temp repository, a temp-rooted Host (the plan runner's lock
// and journal live there), --systems given so no Nix is needed, --yes so nothing is asked.

let base: string;
let repo: string;
let n = 0;
const shown: string[] = [];

function ctx(options: Partial<Context["options"]> = {}): Context {
  return {
    host: createHost({ ...process.env, CROSSNIX_ROOT: path.join(base, "root") }),
    options: { json: false, dryRun: false, yes: true, verbose: false, color: false, timeout: 10, ...options },
    prompt: {
      interactive: false,
      confirm: async () => false,
      ask: async () => "",
    },
    progress: () => {},
    out: (text) => shown.push(text),
    warn: () => {},
    debug: () => {},
  };
}

const input = (overrides: Partial<GithubWorkflowInput> = {}): GithubWorkflowInput => ({
  cwd: repo,
  systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin"],
  installer: "determinate",
  cache: { kind: "magic-nix-cache" },
  attr: "packages",
  emulate: false,
  output: ".github/workflows/nix.yml",
  force: false,
  ...overrides,
});

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-ci-"));
  await mkdir(path.join(base, "root"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  repo = path.join(base, `repo-${++n}`);
  await mkdir(repo);
  shown.length = 0;
});

describe("githubWorkflow", () => {
  it("with output '-' returns the workflow and writes nothing", async () => {
    const result = await githubWorkflow(ctx(), input({ output: "-" }));
    expect(result.kind).toBe("printed");
    if (result.kind !== "printed") return;
    expect(result.summary).toMatchObject({
      systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin"],
      systemsFrom: "--systems",
      skipped: [],
      cache: "magic-nix-cache",
    });
    expect(result.workflow).toContain("ubuntu-24.04-arm");
    expect(shown).toEqual([]);
  });

  it("writes the workflow into the repository (not under CROSSNIX_ROOT) as a shown, applied plan", async () => {
    const result = await githubWorkflow(ctx(), input());
    expect(result.kind).toBe("planned");
    if (result.kind !== "planned") return;
    expect(result.outcome.applied).toBe(true);
    expect(result.output).toBe(path.join(repo, ".github/workflows/nix.yml"));
    const written = await readFile(result.output, "utf8");
    expect(written).toContain("aarch64-darwin");
    expect(shown.join("\n")).toContain(".github/workflows/nix.yml");

    // Generated files are linted clean.
    const report = await lintWorkflows(ctx().host, { cwd: repo, files: [] });
    expect(report).toEqual({
      findings: [],
      files: [".github/workflows/nix.yml"],
      summary: { files: 1, errors: 0, warnings: 0 },
    });
  });

  it("--dry-run shows the plan and writes nothing", async () => {
    const result = await githubWorkflow(ctx({ dryRun: true }), input());
    expect(result.kind === "planned" && result.outcome.applied).toBe(false);
    await expect(readFile(path.join(repo, ".github/workflows/nix.yml"), "utf8")).rejects.toThrow();
  });

  it("refuses to replace a file crossnix did not write, unless forced", async () => {
    await mkdir(path.join(repo, ".github/workflows"), { recursive: true });
    await writeFile(path.join(repo, ".github/workflows/nix.yml"), "name: mine\n");
    await expect(githubWorkflow(ctx(), input())).rejects.toMatchObject({ code: "CONFLICT", exitCode: 1 });
    const forced = await githubWorkflow(ctx(), input({ force: true }));
    expect(forced.kind === "planned" && forced.outcome.applied).toBe(true);
  });

  it("an explicit system without a GitHub-hosted runner is refused before anything runs", async () => {
    await expect(githubWorkflow(ctx(), input({ systems: ["riscv64-linux"] }))).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe("lintWorkflows", () => {
  it("finds workflow files in .github/workflows, skipping other files, directories and symlinks", async () => {
    const dir = path.join(repo, ".github/workflows");
    await mkdir(path.join(dir, "nested.yml"), { recursive: true });
    await writeFile(path.join(dir, "b.yaml"), "on: push\njobs: {}\n");
    await writeFile(path.join(dir, "a.yml"), "on: push\njobs: {}\n");
    await writeFile(path.join(dir, "notes.txt"), "not a workflow\n");
    await symlink("a.yml", path.join(dir, "link.yml"));
    const report = await lintWorkflows(ctx().host, { cwd: repo, files: [] });
    expect(report.files).toEqual([".github/workflows/a.yml", ".github/workflows/b.yaml"]);
  });

  it("no .github/workflows: no files, no findings", async () => {
    expect(await lintWorkflows(ctx().host, { cwd: repo, files: [] })).toEqual({
      findings: [],
      files: [],
      summary: { files: 0, errors: 0, warnings: 0 },
    });
  });

  it("named files and directories are linted as named; a missing one is bad input (exit 2)", async () => {
    await mkdir(path.join(repo, "ci"));
    await writeFile(path.join(repo, "ci/x.yml"), "jobs:\n  b:\n    runs-on: macos-13\n    steps: []\n");
    await writeFile(path.join(repo, "top.yml"), "on: push\njobs: {}\n");
    const report = await lintWorkflows(ctx().host, { cwd: repo, files: ["top.yml", "ci"] });
    expect(report.files).toEqual(["top.yml", "ci/x.yml"]);
    expect(report.findings.map((f) => `${f.file} ${f.rule}`)).toContain("ci/x.yml runner-retired");
    expect(report.summary.errors).toBeGreaterThan(0);
    await expect(lintWorkflows(ctx().host, { cwd: repo, files: ["nope.yml"] })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("nope.yml"),
    });
  });
});
